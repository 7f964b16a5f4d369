import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { wireVariants } from '../../__tests__/wire-variants';
import { chatSchema, isPlainChatPart, toFinishReason, toToolCall, toUsage } from './wire-fields';

describe('toToolCall', () => {
  it('reads object arguments, serialising them as the raw arguments, with a generated id', () => {
    expect(toToolCall(testContext, { function: { name: 'f', arguments: { a: 1 } } })).toEqual({
      id: expect.stringMatching(/^call_/),
      name: 'f',
      arguments: { a: 1 },
      rawArguments: '{"a":1}',
    });
  });

  it('keeps the id Ollama gave and reads string arguments as JSON', () => {
    expect(toToolCall(testContext, { id: 'c9', function: { name: 'f', arguments: '{"a": 1}' } })).toEqual({
      id: 'c9',
      name: 'f',
      arguments: { a: 1 },
      rawArguments: '{"a": 1}',
    });
    expect(toToolCall(testContext, { function: { name: 'f' } }).arguments).toEqual({});
  });

  it.each(['{"a"', '[]'])('refuses string arguments %s as BAD_RESPONSE', (args) => {
    expect(() => toToolCall(testContext, { function: { name: 'f', arguments: args } })).toThrow(
      expect.objectContaining({ code: 'BAD_RESPONSE' }),
    );
  });
});

describe('toUsage', () => {
  it('counts prompt and generated tokens', () => {
    expect(toUsage({ message: {}, prompt_eval_count: 5, eval_count: 3 })).toEqual({
      inputTokens: 5,
      outputTokens: 3,
      totalTokens: 8,
    });
    expect(toUsage({ message: {} })).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
  });
});

describe('toFinishReason', () => {
  it('is tool_calls when there were calls, else stop, length or other', () => {
    expect(toFinishReason('stop', true)).toBe('tool_calls');
    expect(toFinishReason('length', false)).toBe('length');
    expect(toFinishReason(undefined, false)).toBe('stop');
    expect(toFinishReason('unload', false)).toBe('other');
  });
});

describe('isPlainChatPart', () => {
  const parts = [
    { model: 'q', created_at: 't', message: { role: 'assistant', content: 'a', thinking: 'b' }, done: false },
    {
      model: 'q',
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 5,
      eval_count: 2,
    },
  ];

  it('accepts the common lines, so that they skip zod', () => {
    for (const part of parts) expect(isPlainChatPart(part)).toBe(true);
  });

  it('accepts only what the schema accepts', () => {
    let checked = 0;
    for (const part of parts) {
      for (const variant of wireVariants(part)) {
        checked++;
        if (isPlainChatPart(variant)) expect(chatSchema.safeParse(variant).success, JSON.stringify(variant)).toBe(true);
      }
    }
    expect(checked).toBeGreaterThan(200);
  });
});
