import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { wireVariants } from '../../__tests__/wire-variants';
import { completionSchema, isPlainCompletion, type ParseOptions, parseChatCompletion } from './parse-response';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const generic: ParseOptions = { flavor: undefined, textTools: [], model: 'asked' };
const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: 'served',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  ...extra,
});

describe('parseChatCompletion', () => {
  it('reads content, usage, finish reason and the model that answered', () => {
    expect(parseChatCompletion(testContext, completion({ content: 'Hello' }), generic)).toEqual({
      content: 'Hello',
      toolCalls: [],
      usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 },
      finishReason: 'stop',
      model: 'served',
    });
  });

  it('names the model asked for when the answer names none, and counts no usage when none is given', () => {
    const { model: _, usage: __, ...bare } = completion({ content: 'x' });
    expect(parseChatCompletion(testContext, bare, generic)).toMatchObject({
      model: 'asked',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    });
  });

  it('splits <think> reasoning out of the content, except from OpenAI', () => {
    const raw = completion({ content: '<think>\nplan\n</think>\n\nanswer' });
    expect(parseChatCompletion(testContext, raw, generic)).toMatchObject({ reasoning: 'plan', content: 'answer' });
    const openai = parseChatCompletion(testContext, raw, { ...generic, flavor: 'openai' });
    expect(openai.content).toBe('<think>\nplan\n</think>\n\nanswer');
    expect(openai.reasoning).toBeUndefined();
  });

  it('joins a reasoning field with <think> reasoning', () => {
    const raw = completion({ content: '<think>b</think>x', reasoning_details: [{ text: 'a' }] });
    expect(parseChatCompletion(testContext, raw, { ...generic, flavor: 'minimax' }).reasoning).toBe('a\nb');
  });

  it('returns native tool calls, generating missing ids, with finish reason tool_calls', () => {
    const raw = completion({
      content: null,
      tool_calls: [{ id: null, type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }],
    });
    const answer = parseChatCompletion(testContext, raw, generic);
    expect(answer.toolCalls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        name: 'read_file',
        arguments: { path: 'a' },
        rawArguments: '{"path":"a"}',
      },
    ]);
    expect(answer.finishReason).toBe('tool_calls');
  });

  it('turns a tool call written as text into a call for an offered tool', () => {
    const raw = completion({ content: '{"name": "read_file", "arguments": {"path": "x"}}' });
    const answer = parseChatCompletion(testContext, raw, { ...generic, textTools: [readFile] });
    expect(answer).toMatchObject({ content: '', finishReason: 'tool_calls', toolCalls: [{ name: 'read_file' }] });
  });

  it('returns the log probabilities of the first choice', () => {
    const raw = completion({ content: 'a' });
    (raw.choices[0] as Record<string, unknown>).logprobs = {
      content: [{ token: 'a', logprob: -0.1, bytes: [97], top_logprobs: [{ token: 'a', logprob: -0.1 }] }],
    };
    expect(parseChatCompletion(testContext, raw, generic).logprobs).toEqual([
      { token: 'a', logprob: -0.1, bytes: [97], top: [{ token: 'a', logprob: -0.1 }] },
    ]);
  });

  it('throws a MiniMax base_resp failure under HTTP 200 with its code', () => {
    const raw = { choices: null, base_resp: { status_code: 1002, status_msg: 'rpm' } };
    expect(() => parseChatCompletion(testContext, raw, generic)).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED' }),
    );
  });

  it.each([
    ['no choices', { choices: [] }],
    ['text instead of JSON', 'Hello'],
    ['a message without its fields', { choices: [{ message: { content: 3 } }] }],
  ])('throws BAD_RESPONSE for %s, naming the path', (_, raw) => {
    expect(() => parseChatCompletion(testContext, raw, generic)).toThrow(
      expect.objectContaining({ code: 'BAD_RESPONSE', message: expect.stringContaining('chat completion') }),
    );
  });
});

describe('isPlainCompletion', () => {
  const answers = [
    completion({ content: 'Hello' }),
    completion({
      content: null,
      reasoning_details: [{ text: 'a' }],
      tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }],
    }),
  ];

  it('accepts the common answers, so that they skip zod', () => {
    for (const answer of answers) expect(isPlainCompletion(answer)).toBe(true);
  });

  it('accepts only what the schema accepts', () => {
    let checked = 0;
    for (const answer of answers) {
      for (const variant of wireVariants(answer)) {
        checked++;
        if (isPlainCompletion(variant))
          expect(completionSchema.safeParse(variant).success, JSON.stringify(variant)).toBe(true);
      }
    }
    expect(checked).toBeGreaterThan(400);
  });
});
