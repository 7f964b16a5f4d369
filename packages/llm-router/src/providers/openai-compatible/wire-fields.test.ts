import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { joinReasoning, reasoningOf, toFinishReason, toToolCall, toUsage } from './wire-fields';

describe('reasoningOf', () => {
  it('joins reasoning_details, else takes reasoning_content, else reasoning', () => {
    expect(reasoningOf({ reasoning_details: [{ text: 'a' }, { text: null }, { text: 'b' }], reasoning: 'x' })).toBe(
      'ab',
    );
    expect(reasoningOf({ reasoning_details: [], reasoning_content: 'c', reasoning: 'x' })).toBe('c');
    expect(reasoningOf({ reasoning: 'r' })).toBe('r');
    expect(reasoningOf({})).toBeUndefined();
  });
});

describe('joinReasoning', () => {
  it('joins two pieces by a newline and keeps one alone', () => {
    expect(joinReasoning('a', 'b')).toBe('a\nb');
    expect(joinReasoning(undefined, 'b')).toBe('b');
    expect(joinReasoning('', undefined)).toBeUndefined();
  });
});

describe('toToolCall', () => {
  it('parses the arguments, keeping the raw text', () => {
    expect(toToolCall(testContext, 'c1', 'f', '{"a": 1}')).toEqual({
      id: 'c1',
      name: 'f',
      arguments: { a: 1 },
      rawArguments: '{"a": 1}',
    });
  });

  it('reads empty arguments as none', () => {
    expect(toToolCall(testContext, 'c1', 'f', ' ')).toMatchObject({ arguments: {} });
  });

  it.each(['{"a": ', '[1]', '3'])('refuses %s as BAD_RESPONSE', (raw) => {
    expect(() => toToolCall(testContext, 'c1', 'f', raw)).toThrow(expect.objectContaining({ code: 'BAD_RESPONSE' }));
  });
});

describe('toUsage', () => {
  it('maps the counts, adding a missing total', () => {
    expect(toUsage({ prompt_tokens: 3, completion_tokens: 4 })).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 7,
    });
    expect(toUsage({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 9 })).toMatchObject({ totalTokens: 9 });
    expect(toUsage(null)).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
  });
});

describe('toFinishReason', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool_calls', 'tool_calls'],
    ['content_filter', 'content_filter'],
    ['function_call', 'tool_calls'],
    [null, 'stop'],
    [undefined, 'stop'],
    ['eos', 'other'],
  ] as const)('%s → %s', (wire, reason) => {
    expect(toFinishReason(wire)).toBe(reason);
  });
});
