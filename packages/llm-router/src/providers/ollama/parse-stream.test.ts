import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import type { StreamEvent } from '../../provider';
import { ChatStreamParser } from './parse-stream';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const line = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ model: 'qwen:7b', message: { role: 'assistant', content: '', ...message }, done: false, ...extra })}\n`;
const done = line({}, { done: true, done_reason: 'stop', prompt_eval_count: 5, eval_count: 2 });

function run(pieces: string[], tools: readonly ToolDefinition[] = []) {
  const parser = new ChatStreamParser(testContext, tools, 'asked');
  const events: StreamEvent[] = [];
  try {
    for (const piece of pieces) for (const e of parser.push(new TextEncoder().encode(piece))) events.push(e);
    for (const e of parser.finish()) events.push(e);
    return { events };
  } catch (error) {
    return { events, error: error as { code: string; message: string } };
  }
}
const texts = (events: StreamEvent[]) => events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : []));

describe('ChatStreamParser (Ollama)', () => {
  it('streams text and ends with one finish from the done line', () => {
    const { events, error } = run([line({ content: 'one ' }) + line({ content: 'two' }), done]);
    expect(error).toBeUndefined();
    expect(texts(events)).toEqual(['one ', 'two']);
    expect(events.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 },
      model: 'qwen:7b',
    });
  });

  it('reads lines cut across pieces and an unterminated last line', () => {
    const body = line({ content: 'abc' }) + done.trimEnd();
    const { events } = run(body.match(/.{1,5}/gs) ?? []);
    expect(texts(events)).toEqual(['abc']);
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
  });

  it('ignores the body after the done line', () => {
    const { events, error } = run([line({ content: 'a' }), done, 'not json at all\n']);
    expect(error).toBeUndefined();
    expect(texts(events)).toEqual(['a']);
  });

  it('streams thinking and <think> content as reasoning', () => {
    const { events } = run([line({ thinking: 'plan' }), line({ content: '<think>more</think>ans' }), done]);
    expect(events.filter((e) => e.type === 'reasoning-delta').map((e) => (e as { text: string }).text)).toEqual([
      'plan',
      'more',
    ]);
    expect(texts(events)).toEqual(['ans']);
  });

  it('emits native tool calls at once, finishing with tool_calls', () => {
    const { events } = run(
      [line({ tool_calls: [{ function: { name: 'read_file', arguments: { path: 'a' } } }] }), done],
      [readFile],
    );
    expect(events[0]).toMatchObject({ type: 'tool-call', toolCall: { name: 'read_file', arguments: { path: 'a' } } });
    expect(events.at(-1)).toMatchObject({ finishReason: 'tool_calls' });
  });

  it('turns a tool call written as text into a call at the end', () => {
    const { events } = run([line({ content: '{"name": "read_file", "arguments": {"path": "x"}}' }), done], [readFile]);
    expect(texts(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'tool-call')).toMatchObject([{ toolCall: { name: 'read_file' } }]);
  });

  it('sends log probabilities with the text they belong to', () => {
    const { events } = run([line({ content: 'a' }, { logprobs: [{ token: 'a', logprob: -1 }] }), done]);
    expect(events[0]).toEqual({ type: 'text-delta', text: 'a', logprobs: [{ token: 'a', logprob: -1, top: [] }] });
  });

  it('throws UPSTREAM_ERROR for an {"error"} line, after the events before it', () => {
    const { events, error } = run([line({ content: 'a ' }) + '{"error":"an error was encountered"}\n']);
    expect(texts(events)).toEqual(['a ']);
    expect(error).toMatchObject({
      code: 'UPSTREAM_ERROR',
      message: expect.stringContaining('an error was encountered'),
    });
  });

  it('throws BAD_RESPONSE for a line that is not JSON or lacks the message', () => {
    expect(run(['{"model":"x","message":{"content":"par\n']).error?.code).toBe('BAD_RESPONSE');
    expect(run(['{"model":"x"}\n']).error?.code).toBe('BAD_RESPONSE');
  });

  it('throws STREAM_CUT for a partial last line and for a stream without its done line', () => {
    expect(run([line({ content: 'a' }), '{"model":"x","mess']).error?.code).toBe('STREAM_CUT');
    expect(run([line({ content: 'a' })]).error).toMatchObject({
      code: 'STREAM_CUT',
      message: expect.stringContaining('done:true'),
    });
  });
});
