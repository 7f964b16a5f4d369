import type { ToolDefinition } from '@unity/core';
import { FakeOpenAI, freePort, textToolCall } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { collect, expectProviderError, modes, run } from '../__tests__/provider-helpers';
import type { Provider, ProviderRequest } from '../provider';
import { createOpenAICompatibleProvider } from './openai-compatible';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

let fake: FakeOpenAI;
let minimax: Provider;
let generic: Provider;

const ask = (text: string, extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: 'MiniMax-M2',
  messages: [{ role: 'user', content: text }],
  signal: new AbortController().signal,
  ...extra,
});

beforeAll(async () => {
  fake = await FakeOpenAI.start({ apiKey: 'sk-test' });
  minimax = createOpenAICompatibleProvider({
    id: 'minimax',
    baseURL: fake.baseURL,
    apiKey: 'sk-test',
    flavor: 'minimax',
  });
  generic = createOpenAICompatibleProvider({ id: 'vllm', baseURL: fake.baseURL, apiKey: 'sk-test' });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe.each(modes)('OpenAI-compatible provider, %s', (mode) => {
  it('returns the answer with usage and finish reason', async () => {
    fake.enqueue({ text: 'Hello there', usage: { promptTokens: 7, completionTokens: 2 } });
    const answer = await run(minimax, mode, ask('hi'));
    expect(answer).toMatchObject({
      content: 'Hello there',
      toolCalls: [],
      finishReason: 'stop',
      model: 'MiniMax-M2',
      usage: { inputTokens: 7, outputTokens: 2, totalTokens: 9 },
    });
    expect(answer.reasoning).toBeUndefined();
  });

  it('sends MiniMax reasoning_split and max_completion_tokens, and asks for usage when streaming', async () => {
    await run(minimax, mode, ask('hi', { maxOutputTokens: 64, temperature: 0.2 }));
    const body = fake.requestsTo('/chat/completions')[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ reasoning_split: true, max_completion_tokens: 64, temperature: 0.2 });
    expect(body.max_tokens).toBeUndefined();
    if (mode === 'stream') expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('sends max_tokens and no MiniMax fields to a generic server', async () => {
    await run(generic, mode, ask('hi', { maxOutputTokens: 64 }));
    const body = fake.requestsTo('/chat/completions')[0]?.body as Record<string, unknown>;
    expect(body.max_tokens).toBe(64);
    expect(body.max_completion_tokens).toBeUndefined();
    expect(body.reasoning_split).toBeUndefined();
  });

  it('reads MiniMax reasoning_details into reasoning', async () => {
    fake.enqueue({ reasoning: 'The user greets me.', text: 'Hi!' });
    const answer = await run(minimax, mode, ask('hi'));
    expect(answer.reasoning).toBe('The user greets me.');
    expect(answer.content).toBe('Hi!');
  });

  it('splits <think> reasoning out of the content', async () => {
    // A generic server gets no reasoning_split, so the fake puts <think>…</think> into the content.
    fake.enqueue({ reasoning: 'Plan: greet back.', text: 'Hello!', chunkSize: 3 });
    const answer = await run(generic, mode, ask('hi'));
    expect(answer.reasoning).toBe('Plan: greet back.');
    expect(answer.content).toBe('Hello!');
  });

  it('returns tool calls with parsed and raw arguments', async () => {
    fake.enqueue({
      toolCalls: [
        { id: 'call_a', name: 'read_file', arguments: { path: 'src/index.ts' } },
        { id: 'call_b', name: 'read_file', arguments: { path: 'README.md' } },
      ],
    });
    const answer = await run(minimax, mode, ask('read', { tools: [readFile] }));
    expect(answer.finishReason).toBe('tool_calls');
    expect(answer.toolCalls).toEqual([
      { id: 'call_a', name: 'read_file', arguments: { path: 'src/index.ts' }, rawArguments: '{"path":"src/index.ts"}' },
      { id: 'call_b', name: 'read_file', arguments: { path: 'README.md' }, rawArguments: '{"path":"README.md"}' },
    ]);
    const body = fake.requestsTo('/chat/completions')[0]?.body as { tools: unknown[] };
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'read_file', description: 'Read a file', parameters: readFile.parameters },
      },
    ]);
  });

  it('re-sends the whole MiniMax assistant turn, reasoning and tool calls included', async () => {
    fake.enqueue({
      reasoning: 'I need the file.',
      toolCalls: [{ id: 'call_1', name: 'read_file', arguments: { path: 'a' } }],
    });
    const first = await run(minimax, mode, ask('read a', { tools: [readFile] }));
    expect(first.reasoning).toBe('I need the file.');
    await run(
      minimax,
      mode,
      ask('', {
        tools: [readFile],
        messages: [
          { role: 'user', content: 'read a' },
          { role: 'assistant', content: first.content, toolCalls: first.toolCalls, reasoning: first.reasoning },
          { role: 'tool', toolCallId: 'call_1', toolName: 'read_file', content: 'contents of a' },
        ],
      }),
    );
    const body = fake.requestsTo('/chat/completions')[1]?.body as { messages: unknown[] };
    expect(body.messages[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }],
      reasoning_details: [expect.objectContaining({ type: 'reasoning.text', text: 'I need the file.' })],
    });
    expect(body.messages[2]).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'contents of a' });
  });

  it.each(['bare', 'tagged', 'fenced'] as const)(
    'turns a %s text tool call from a generic server into a real call',
    async (style) => {
      fake.enqueue({ text: textToolCall('read_file', { path: 'x.ts' }, style) });
      const answer = await run(generic, mode, ask('read x', { tools: [readFile] }));
      expect(answer.content).toBe('');
      expect(answer.finishReason).toBe('tool_calls');
      expect(answer.toolCalls).toMatchObject([{ name: 'read_file', arguments: { path: 'x.ts' } }]);
    },
  );

  it('keeps an invalid text tool call as text', async () => {
    const text = textToolCall('read_file', { file: 'x.ts' });
    fake.enqueue({ text });
    const answer = await run(generic, mode, ask('read x', { tools: [readFile] }));
    expect(answer).toMatchObject({ content: text, toolCalls: [], finishReason: 'stop' });
  });

  it('answers after a slow first byte', async () => {
    fake.enqueue({ fault: 'slow-first-byte', ms: 300 });
    expect((await run(minimax, mode, ask('slow'))).content).toBe('echo: slow');
  });

  it('classifies a reset connection as CONNECTION_FAILED', async () => {
    fake.enqueue({ fault: 'reset' });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'CONNECTION_FAILED');
    expect(error.message).toContain(fake.baseURL);
    expect(error.transient).toBe(true);
  });

  it('classifies 429 as RATE_LIMITED with Retry-After in milliseconds', async () => {
    fake.enqueue({ fault: 'status', status: 429, retryAfter: 7 });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'RATE_LIMITED');
    expect(error).toMatchObject({ status: 429, retryAfterMs: 7000, provider: 'minimax', model: 'MiniMax-M2' });
    expect(error.message).toContain('Rate limit reached');
  });

  it.each([500, 503, 408, 409])('classifies %i as SERVER_ERROR', async (status) => {
    fake.enqueue({ fault: 'status', status, retryAfter: status === 503 ? 2 : undefined });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'SERVER_ERROR');
    expect(error.status).toBe(status);
    if (status === 503) expect(error.retryAfterMs).toBe(2000);
  });

  it('classifies 401 as AUTH_FAILED naming the key variable', async () => {
    fake.enqueue({ fault: 'status', status: 401 });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'AUTH_FAILED');
    expect(error.fix).toContain('MINIMAX_API_KEY');
    expect(error.transient).toBe(false);
  });

  it('classifies a wrong key as AUTH_FAILED', async () => {
    const wrong = createOpenAICompatibleProvider({
      id: 'minimax',
      baseURL: fake.baseURL,
      apiKey: 'sk-wrong',
      flavor: 'minimax',
    });
    await expectProviderError(run(wrong, mode, ask('hi')), 'AUTH_FAILED');
  });

  it('fails with AUTH_FAILED before sending anything when MiniMax has no key', async () => {
    const keyless = createOpenAICompatibleProvider({ id: 'minimax', baseURL: fake.baseURL, flavor: 'minimax' });
    await expectProviderError(run(keyless, mode, ask('hi')), 'AUTH_FAILED');
    expect(fake.requests).toHaveLength(0);
  });

  it('classifies 400 and 422 as BAD_REQUEST', async () => {
    fake.enqueue({ fault: 'status', status: 400, message: 'messages: too long' }, { fault: 'status', status: 422 });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'BAD_REQUEST');
    expect(error.message).toContain('messages: too long');
    await expectProviderError(run(minimax, mode, ask('hi')), 'BAD_REQUEST');
  });

  it('classifies an unknown model as MODEL_NOT_FOUND', async () => {
    const error = await expectProviderError(
      run(minimax, mode, ask('hi', { model: 'no-such-model' })),
      'MODEL_NOT_FOUND',
    );
    expect(error.status).toBe(404);
    expect(error.message).toContain('no-such-model');
  });

  it('aborts a hanging request when the caller aborts, cancelling it upstream', async () => {
    fake.enqueue({ fault: 'hang' });
    const controller = new AbortController();
    const pending = run(minimax, mode, ask('hi', { signal: controller.signal }));
    await fake.waitForRequests(1);
    controller.abort();
    await expectProviderError(pending, 'ABORTED');
    await vi.waitFor(() => expect(fake.requests[0]?.aborted).toBe(true));
  });

  it('fails with ABORTED without a request when the signal is already aborted', async () => {
    await expectProviderError(run(minimax, mode, ask('hi', { signal: AbortSignal.abort() })), 'ABORTED');
  });

  it('classifies a response cut before the first token as STREAM_CUT', async () => {
    fake.enqueue({ fault: 'cut-before-first-token' });
    await expectProviderError(run(minimax, mode, ask('hi')), 'STREAM_CUT');
  });

  it('classifies a response cut part-way as STREAM_CUT', async () => {
    fake.enqueue({ fault: 'cut-after-chunks', chunks: 3, reply: { text: 'a b c d e f' } });
    await expectProviderError(run(minimax, mode, ask('hi')), 'STREAM_CUT');
  });

  it('classifies a failure inside a 200 stream as UPSTREAM_ERROR, and as SERVER_ERROR when not streaming', async () => {
    fake.enqueue({ fault: 'stream-error', chunks: 2, message: 'engine crashed' });
    const error = await expectProviderError(
      run(minimax, mode, ask('hi')),
      mode === 'stream' ? 'UPSTREAM_ERROR' : 'SERVER_ERROR',
    );
    expect(error.message).toContain('engine crashed');
  });

  it('classifies malformed JSON as BAD_RESPONSE', async () => {
    fake.enqueue({ fault: 'malformed-json' });
    await expectProviderError(run(minimax, mode, ask('hi')), 'BAD_RESPONSE');
  });

  it('classifies MiniMax base_resp 1002 under HTTP 200 as RATE_LIMITED', async () => {
    fake.enqueue({ fault: 'base-resp', statusCode: 1002, statusMsg: 'rate limit exceeded(RPM)' });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'RATE_LIMITED');
    expect(error.message).toContain('1002');
  });

  it('classifies MiniMax base_resp 2049 as AUTH_FAILED and other codes as UPSTREAM_ERROR', async () => {
    fake.enqueue({ fault: 'base-resp', statusCode: 2049, statusMsg: 'invalid api key' });
    await expectProviderError(run(minimax, mode, ask('hi')), 'AUTH_FAILED');
    fake.enqueue({ fault: 'base-resp', statusCode: 1000, statusMsg: 'unknown error' });
    const error = await expectProviderError(run(minimax, mode, ask('hi')), 'UPSTREAM_ERROR');
    expect(error.message).toContain('unknown error');
  });

  it('classifies a refused connection as CONNECTION_FAILED naming the base URL', async () => {
    const baseURL = `http://127.0.0.1:${await freePort()}/v1`;
    const down = createOpenAICompatibleProvider({ id: 'local', baseURL });
    const error = await expectProviderError(run(down, mode, ask('hi')), 'CONNECTION_FAILED');
    expect(error.message).toContain(baseURL);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('sends no Authorization header when a generic server has no key', async () => {
    const open = await FakeOpenAI.start();
    try {
      const keyless = createOpenAICompatibleProvider({ id: 'lmstudio', baseURL: open.baseURL });
      expect((await run(keyless, mode, ask('hi'))).content).toBe('echo: hi');
      expect(open.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });
});

describe('OpenAI-compatible provider, streaming only', () => {
  it('streams text as it comes and ends with one finish', async () => {
    fake.enqueue({ text: 'one two three' });
    const events = await collect(minimax.stream(ask('count')));
    expect(events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text)).toEqual([
      'one ',
      'two ',
      'three',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('classifies a stream cut after some chunks as STREAM_CUT, after yielding them', async () => {
    fake.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'a b c d e f' } });
    const seen: string[] = [];
    const consume = async () => {
      for await (const event of minimax.stream(ask('hi'))) if (event.type === 'text-delta') seen.push(event.text);
    };
    await expectProviderError(consume(), 'STREAM_CUT');
    expect(seen.join('')).toBe('a b ');
  });

  it('classifies an error event inside a 200 stream as UPSTREAM_ERROR', async () => {
    fake.enqueue({ fault: 'stream-error', chunks: 1, message: 'model overloaded mid-stream' });
    const error = await expectProviderError(collect(minimax.stream(ask('hi'))), 'UPSTREAM_ERROR');
    expect(error.message).toContain('model overloaded mid-stream');
  });

  it('assembles tool-call argument deltas by index', async () => {
    fake.enqueue({
      toolCalls: [{ id: 'call_z', name: 'read_file', arguments: { path: 'a/very/long/path/to/a/file.ts' } }],
    });
    const events = await collect(minimax.stream(ask('read', { tools: [readFile] })));
    expect(events.filter((e) => e.type === 'tool-call')).toEqual([
      {
        type: 'tool-call',
        toolCall: {
          id: 'call_z',
          name: 'read_file',
          arguments: { path: 'a/very/long/path/to/a/file.ts' },
          rawArguments: '{"path":"a/very/long/path/to/a/file.ts"}',
        },
      },
    ]);
  });

  it('classifies broken tool-call arguments as BAD_RESPONSE', async () => {
    fake.enqueue({ toolCalls: [{ name: 'read_file', arguments: '{"path": "a' }] });
    await expectProviderError(collect(minimax.stream(ask('read', { tools: [readFile] }))), 'BAD_RESPONSE');
  });

  it('streams ordinary text at once when tools were offered', async () => {
    fake.enqueue({ text: 'No tool needed here.', chunkDelayMs: 0 });
    const events = await collect(generic.stream(ask('hi', { tools: [readFile] })));
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1);
  });

  it('cancels the upstream request when the consumer stops reading', async () => {
    fake.enqueue({ text: 'a b c d e f g h', chunkDelayMs: 50 });
    for await (const event of minimax.stream(ask('hi'))) if (event.type === 'text-delta') break;
    await vi.waitFor(() => expect(fake.requests[0]?.aborted).toBe(true));
  });

  it('aborts mid-stream with ABORTED, cancelling upstream', async () => {
    fake.enqueue({ text: 'a b c d e f g h', chunkDelayMs: 50 });
    const controller = new AbortController();
    const consume = async () => {
      for await (const event of minimax.stream(ask('hi', { signal: controller.signal }))) {
        if (event.type === 'text-delta') controller.abort();
      }
    };
    await expectProviderError(consume(), 'ABORTED');
    await vi.waitFor(() => expect(fake.requests[0]?.aborted).toBe(true));
  });
});

describe('OpenAI-compatible provider, identity', () => {
  it('is remote unless the base URL is on this machine', () => {
    expect(minimax.remote).toBe(false);
    expect(createOpenAICompatibleProvider({ id: 'm', baseURL: 'https://api.minimax.io/v1' }).remote).toBe(true);
    expect(createOpenAICompatibleProvider({ id: 'm', baseURL: 'http://localhost:1234/v1' }).remote).toBe(false);
    expect(createOpenAICompatibleProvider({ id: 'm', baseURL: 'http://localhost:1234/v1', remote: true }).remote).toBe(
      true,
    );
    expect(minimax.kind).toBe('openai-compatible');
  });
});
