import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { parseChatResponse } from './parse-response';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const answer = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: 'qwen:7b',
  message: { role: 'assistant', content: '', ...message },
  done: true,
  done_reason: 'stop',
  prompt_eval_count: 5,
  eval_count: 3,
  ...extra,
});

describe('parseChatResponse', () => {
  it('reads content, usage, finish reason and model', () => {
    expect(parseChatResponse(testContext, answer({ content: 'Hello' }), [], 'asked')).toEqual({
      content: 'Hello',
      toolCalls: [],
      usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 },
      finishReason: 'stop',
      model: 'qwen:7b',
    });
  });

  it('joins thinking and <think> reasoning', () => {
    const raw = answer({ content: '<think>b</think>text', thinking: 'a' });
    expect(parseChatResponse(testContext, raw, [], 'asked')).toMatchObject({ reasoning: 'a\nb', content: 'text' });
  });

  it('returns native tool calls with finish reason tool_calls', () => {
    const raw = answer({ tool_calls: [{ function: { name: 'read_file', arguments: { path: 'a' } } }] });
    expect(parseChatResponse(testContext, raw, [readFile], 'asked')).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ name: 'read_file', arguments: { path: 'a' } }],
    });
  });

  it('turns a tool call written as text into a call for an offered tool only', () => {
    const text = '<tool_call>{"name": "read_file", "arguments": {"path": "x"}}</tool_call>';
    expect(parseChatResponse(testContext, answer({ content: text }), [readFile], 'asked')).toMatchObject({
      content: '',
      toolCalls: [{ name: 'read_file' }],
    });
    expect(parseChatResponse(testContext, answer({ content: text }), [], 'asked')).toMatchObject({
      content: text,
      toolCalls: [],
    });
  });

  it('returns log probabilities', () => {
    const raw = answer({ content: 'a' }, { logprobs: [{ token: 'a', logprob: -0.5 }] });
    expect(parseChatResponse(testContext, raw, [], 'asked').logprobs).toEqual([{ token: 'a', logprob: -0.5, top: [] }]);
  });

  it('throws BAD_RESPONSE for an answer without a message', () => {
    expect(() => parseChatResponse(testContext, { model: 'x' }, [], 'asked')).toThrow(
      expect.objectContaining({ code: 'BAD_RESPONSE', message: expect.stringContaining('message') }),
    );
  });
});
