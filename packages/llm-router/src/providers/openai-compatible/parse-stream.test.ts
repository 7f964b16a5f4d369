import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { wireVariants } from '../../__tests__/wire-variants';
import type { StreamEvent } from '../../provider';
import type { ParseOptions } from './parse-response';
import { ChatStreamParser, chunkSchema, isPlainChunk } from './parse-stream';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const generic: ParseOptions = { flavor: undefined, textTools: [], model: 'asked' };

const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
const delta = (d: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  event({ model: 'served', choices: [{ index: 0, delta: d, finish_reason: finish }], ...extra });
const usage = event({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } });

/** Feed pieces (bytes, as the body gives them) and finish; the events, or the error with the events before it. */
function run(pieces: string[], options: ParseOptions = generic) {
  const parser = new ChatStreamParser(testContext, options);
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

describe('ChatStreamParser', () => {
  it('streams text deltas and ends with one finish carrying usage and the model', () => {
    const { events, error } = run([
      delta({ role: 'assistant', content: '' }),
      delta({ content: 'Hel' }),
      delta({ content: 'lo' }),
      delta({}, 'stop'),
      usage,
      'data: [DONE]\n\n',
    ]);
    expect(error).toBeUndefined();
    expect(texts(events)).toEqual(['Hel', 'lo']);
    expect(events.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 4, outputTokens: 2, totalTokens: 6 },
      model: 'served',
    });
  });

  it('reads events cut anywhere, even inside a UTF-8 character', () => {
    const body = new TextEncoder().encode(delta({ content: 'héllo ✓' }) + delta({}, 'stop'));
    const parser = new ChatStreamParser(testContext, generic);
    const events: StreamEvent[] = [];
    for (let i = 0; i < body.length; i += 3) events.push(...parser.push(body.subarray(i, i + 3)));
    events.push(...parser.finish());
    expect(texts(events).join('')).toBe('héllo ✓');
  });

  it('ignores comments and events after [DONE]', () => {
    const { events, error } = run([
      ': keep-alive\n\n',
      delta({ content: 'a' }, 'stop'),
      'data: [DONE]\n\n',
      'data: {oops\n\n',
    ]);
    expect(error).toBeUndefined();
    expect(texts(events)).toEqual(['a']);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('streams reasoning fields and <think> content as reasoning', () => {
    const { events } = run([
      delta({ reasoning_details: [{ text: 'plan ' }] }),
      delta({ content: '<think>more</think>ans' }),
      delta({}, 'stop'),
    ]);
    expect(events.filter((e) => e.type === 'reasoning-delta').map((e) => (e as { text: string }).text)).toEqual([
      'plan ',
      'more',
    ]);
    expect(texts(events)).toEqual(['ans']);
  });

  it('keeps <think> tags as text from OpenAI', () => {
    const { events } = run([delta({ content: '<think>x</think>' }, 'stop')], { ...generic, flavor: 'openai' });
    expect(texts(events)).toEqual(['<think>x</think>']);
  });

  it('assembles tool-call deltas by index and emits them at the end', () => {
    const { events } = run([
      delta({ tool_calls: [{ index: 1, id: 'c2', function: { name: 'read_file', arguments: '' } }] }),
      delta({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'read_file', arguments: '{"path":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '"a"}' } }] }),
      delta({ tool_calls: [{ index: 1, function: { arguments: '{"path":"b"}' } }] }),
      delta({}, 'tool_calls'),
    ]);
    expect(events.filter((e) => e.type === 'tool-call')).toEqual([
      {
        type: 'tool-call',
        toolCall: { id: 'c1', name: 'read_file', arguments: { path: 'a' }, rawArguments: '{"path":"a"}' },
      },
      {
        type: 'tool-call',
        toolCall: { id: 'c2', name: 'read_file', arguments: { path: 'b' }, rawArguments: '{"path":"b"}' },
      },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('turns a tool call written as text into a call at the end', () => {
    const { events } = run(
      [delta({ content: '{"name": "read_file", ' }), delta({ content: '"arguments": {"path": "x"}}' }, 'stop')],
      {
        ...generic,
        textTools: [readFile],
      },
    );
    expect(texts(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'tool-call')).toMatchObject([{ toolCall: { name: 'read_file' } }]);
    expect(events.at(-1)).toMatchObject({ finishReason: 'tool_calls' });
  });

  it('sends log probabilities with the text they belong to', () => {
    const logprobs = { content: [{ token: 'a', logprob: -1, top_logprobs: [] }] };
    const { events } = run([event({ choices: [{ delta: { content: 'a' }, logprobs, finish_reason: 'stop' }] })]);
    expect(events[0]).toEqual({ type: 'text-delta', text: 'a', logprobs: [{ token: 'a', logprob: -1, top: [] }] });
  });

  it('throws STREAM_CUT when the stream ends without a finish_reason', () => {
    const { events, error } = run([delta({ content: 'a b ' })]);
    expect(texts(events)).toEqual(['a b ']);
    expect(error?.code).toBe('STREAM_CUT');
  });

  it('throws UPSTREAM_ERROR for an error event, after the events before it', () => {
    const { events, error } = run([delta({ content: 'a' }) + event({ error: { message: 'engine crashed' } })]);
    expect(texts(events)).toEqual(['a']);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', message: expect.stringContaining('engine crashed') });
  });

  it('throws a MiniMax base_resp failure with its code', () => {
    const { error } = run([event({ choices: null, base_resp: { status_code: 2049, status_msg: 'invalid api key' } })]);
    expect(error?.code).toBe('AUTH_FAILED');
  });

  it.each([
    ['malformed JSON', 'data: {"choices":[{"delta":{"content":"par\n\n'],
    ['JSON that is not an object', 'data: 42\n\n'],
  ])('throws BAD_RESPONSE for %s', (_, piece) => {
    expect(run([piece]).error?.code).toBe('BAD_RESPONSE');
  });

  it('throws BAD_RESPONSE naming the path for log probabilities that are not a list, after the events before it', () => {
    const logprobs = { content: { token: 'b', logprob: -1 } };
    const { events, error } = run([
      delta({ content: 'a' }),
      event({ choices: [{ delta: { content: 'b' }, logprobs, finish_reason: 'stop' }] }),
    ]);
    expect(texts(events)).toEqual(['a']);
    expect(error).toMatchObject({
      code: 'BAD_RESPONSE',
      message: expect.stringContaining('chat completion chunk: choices.0.logprobs.content:'),
    });
  });

  it('throws BAD_RESPONSE naming the path for usage counts that are not numbers', () => {
    const { error } = run([
      delta({ content: 'a' }, 'stop'),
      event({ choices: [], usage: { prompt_tokens: '4', completion_tokens: '2', total_tokens: '6' } }),
    ]);
    expect(error).toMatchObject({
      code: 'BAD_RESPONSE',
      message: expect.stringContaining('chat completion chunk: usage.prompt_tokens:'),
    });
  });

  it('throws BAD_RESPONSE for tool-call arguments that are not JSON', () => {
    const { error } = run([
      delta({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"a' } }] }, 'tool_calls'),
    ]);
    expect(error?.code).toBe('BAD_RESPONSE');
  });
});

describe('isPlainChunk', () => {
  const chunks = [
    {
      id: 'c',
      object: 'chat.completion.chunk',
      model: 'm',
      choices: [{ index: 0, delta: { role: 'assistant', content: 'a' }, finish_reason: null }],
    },
    {
      model: 'm',
      choices: [
        {
          index: 0,
          delta: {
            content: null,
            reasoning_details: [{ text: 'r' }],
            tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: null,
    },
    { choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } },
  ];

  it('accepts the common chunks, so that they skip zod', () => {
    for (const chunk of chunks) expect(isPlainChunk(chunk)).toBe(true);
  });

  it('accepts only what the schema accepts', () => {
    let checked = 0;
    for (const chunk of chunks) {
      for (const variant of wireVariants(chunk)) {
        checked++;
        if (isPlainChunk(variant)) expect(chunkSchema.safeParse(variant).success, JSON.stringify(variant)).toBe(true);
      }
    }
    expect(checked).toBeGreaterThan(400);
  });
});
