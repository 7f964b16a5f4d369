import type { ToolDefinition } from '@unity/core';
import { FakeOllama, freePort, textToolCall } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { collect, expectProviderError, modes, run } from '../__tests__/provider-helpers';
import type { Provider, ProviderRequest } from '../provider';
import { createOllamaProvider } from './ollama';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

const model = 'qwen2.5-coder:7b';
let fake: FakeOllama;
let ollama: Provider;

const ask = (text: string, extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model,
  messages: [{ role: 'user', content: text }],
  signal: new AbortController().signal,
  ...extra,
});
const chatBodies = () => fake.requestsTo('/api/chat').map((r) => r.body as Record<string, unknown>);

beforeAll(async () => {
  fake = await FakeOllama.start({
    models: [
      { name: model, contextLength: 32_768 },
      { name: 'llama3.2:1b', contextLength: 131_072 },
      { name: 'tiny:1b', contextLength: 2_048 },
      { name: 'gemma:2b', contextLength: 8_192, capabilities: ['completion'] },
    ],
  });
  ollama = createOllamaProvider({ id: 'ollama', host: fake.host, keepAlive: '10m' });
});
afterAll(async () => {
  await ollama.close?.();
  await fake.close();
});
beforeEach(() => fake.reset());

describe.each(modes)('Ollama provider, %s', (mode) => {
  it('returns the answer with usage, finish reason and model', async () => {
    fake.enqueue({ text: 'Hello from qwen', usage: { promptTokens: 5, completionTokens: 3 } });
    const answer = await run(ollama, mode, ask('hi'));
    expect(answer).toMatchObject({
      content: 'Hello from qwen',
      toolCalls: [],
      finishReason: 'stop',
      model,
      usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 },
    });
  });

  it('sends num_ctx equal to the context length /api/show reports', async () => {
    await run(ollama, mode, ask('hi', { model: 'tiny:1b' }));
    expect(chatBodies()[0]).toMatchObject({
      options: { num_ctx: 2_048 },
      keep_alive: '10m',
      stream: mode === 'stream',
    });
  });

  it('caps num_ctx at maxContext', async () => {
    await run(ollama, mode, ask('hi', { model: 'llama3.2:1b' }));
    expect(chatBodies()[0]).toMatchObject({ options: { num_ctx: 32_768 } });
    const capped = createOllamaProvider({ id: 'ollama', host: fake.host, maxContext: 16_384 });
    await run(capped, mode, ask('hi', { model: 'llama3.2:1b' }));
    expect(chatBodies()[1]).toMatchObject({ options: { num_ctx: 16_384 } });
    await capped.close?.();
  });

  it('passes sampling options through', async () => {
    await run(ollama, mode, ask('hi', { temperature: 0, maxOutputTokens: 50, stop: ['\n\n'], seed: 7 }));
    expect(chatBodies()[0]?.options).toEqual({
      num_ctx: 32_768,
      temperature: 0,
      num_predict: 50,
      stop: ['\n\n'],
      seed: 7,
    });
  });

  it('returns native tool calls with object arguments as parsed and raw arguments, with generated ids', async () => {
    fake.enqueue({ toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.ts' } }] });
    const answer = await run(ollama, mode, ask('read', { tools: [readFile] }));
    expect(answer.finishReason).toBe('tool_calls');
    expect(answer.toolCalls).toEqual([
      {
        id: expect.any(String),
        name: 'read_file',
        arguments: { path: 'src/a.ts' },
        rawArguments: '{"path":"src/a.ts"}',
      },
    ]);
    expect(chatBodies()[0]?.tools).toEqual([
      {
        type: 'function',
        function: { name: 'read_file', description: 'Read a file', parameters: readFile.parameters },
      },
    ]);
  });

  it('sends tool calls back with object arguments and tool results with the tool name', async () => {
    await run(
      ollama,
      mode,
      ask('', {
        tools: [readFile],
        messages: [
          { role: 'user', content: 'read a' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'call_1', name: 'read_file', arguments: { path: 'a' }, rawArguments: '{"path":"a"}' }],
          },
          { role: 'tool', toolCallId: 'call_1', content: 'contents of a' },
        ],
      }),
    );
    const messages = chatBodies()[0]?.messages as unknown[];
    expect(messages[1]).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'call_1', function: { name: 'read_file', arguments: { path: 'a' } } }],
    });
    expect(messages[2]).toEqual({ role: 'tool', content: 'contents of a', tool_name: 'read_file' });
  });

  it.each(['bare', 'tagged', 'fenced'] as const)(
    'turns a qwen-style %s text tool call into a real call',
    async (style) => {
      fake.enqueue({ text: textToolCall('read_file', { path: 'x.ts' }, style) });
      const answer = await run(ollama, mode, ask('read x', { tools: [readFile] }));
      expect(answer.content).toBe('');
      expect(answer.finishReason).toBe('tool_calls');
      expect(answer.toolCalls).toMatchObject([
        { name: 'read_file', arguments: { path: 'x.ts' }, rawArguments: '{"path":"x.ts"}' },
      ]);
    },
  );

  it('keeps a text tool call for a tool that was not offered as text', async () => {
    const text = textToolCall('rm_rf', { path: '/' }, 'tagged');
    fake.enqueue({ text });
    const answer = await run(ollama, mode, ask('hi', { tools: [readFile] }));
    expect(answer).toMatchObject({ content: text, toolCalls: [], finishReason: 'stop' });
  });

  it('leaves text tool calls alone when no tools were offered', async () => {
    const text = textToolCall('read_file', { path: 'x.ts' });
    fake.enqueue({ text });
    expect((await run(ollama, mode, ask('hi'))).content).toBe(text);
  });

  it('splits <think> reasoning out of the content', async () => {
    fake.enqueue({ reasoning: 'think first', text: 'then answer' });
    const answer = await run(ollama, mode, ask('hi'));
    expect(answer).toMatchObject({ reasoning: 'think first', content: 'then answer' });
  });

  it('answers after a slow first byte', async () => {
    fake.enqueue({ fault: 'slow-first-byte', ms: 300 });
    expect((await run(ollama, mode, ask('slow'))).content).toBe('echo: slow');
  });

  it('fails with TIMEOUT naming headersTimeoutMs when no headers come in time', async () => {
    const impatient = createOllamaProvider({ id: 'ollama', host: fake.host, headersTimeoutMs: 200 });
    fake.enqueue({ fault: 'slow-first-byte', ms: 5_000 });
    const error = await expectProviderError(run(impatient, mode, ask('hi')), 'TIMEOUT');
    expect(error.message).toContain('headersTimeoutMs = 200');
    await impatient.close?.();
  });

  it('classifies a reset connection as CONNECTION_FAILED', async () => {
    fake.enqueue({ fault: 'reset' });
    await expectProviderError(run(ollama, mode, ask('hi')), 'CONNECTION_FAILED');
  });

  it('classifies 429 as RATE_LIMITED with Retry-After', async () => {
    fake.enqueue({ fault: 'status', status: 429, retryAfter: 3 });
    const error = await expectProviderError(run(ollama, mode, ask('hi')), 'RATE_LIMITED');
    expect(error).toMatchObject({ status: 429, retryAfterMs: 3000, provider: 'ollama', model });
  });

  it.each([500, 503])('classifies %i as SERVER_ERROR quoting Ollama', async (status) => {
    fake.enqueue({ fault: 'status', status });
    const error = await expectProviderError(run(ollama, mode, ask('hi')), 'SERVER_ERROR');
    if (status === 503) expect(error.message).toContain('server busy');
  });

  it('classifies 401 as AUTH_FAILED', async () => {
    fake.enqueue({ fault: 'status', status: 401, message: 'unauthorized' });
    await expectProviderError(run(ollama, mode, ask('hi')), 'AUTH_FAILED');
  });

  it('classifies 400 as BAD_REQUEST', async () => {
    fake.enqueue({ fault: 'status', status: 400, message: 'invalid options' });
    const error = await expectProviderError(run(ollama, mode, ask('hi')), 'BAD_REQUEST');
    expect(error.message).toContain('invalid options');
  });

  it('classifies "does not support tools" as UNSUPPORTED', async () => {
    fake.enqueue({
      fault: 'status',
      status: 400,
      message: `registry.ollama.ai/library/${model} does not support tools`,
    });
    await expectProviderError(run(ollama, mode, ask('hi', { tools: [readFile] })), 'UNSUPPORTED');
  });

  it('refuses tools for a model whose capabilities lack them, without sending the chat', async () => {
    const error = await expectProviderError(
      run(ollama, mode, ask('hi', { model: 'gemma:2b', tools: [readFile] })),
      'UNSUPPORTED',
    );
    expect(error.message).toContain('gemma:2b');
    expect(chatBodies()).toHaveLength(0);
  });

  it('classifies a 404 "try pulling it first" as MODEL_NOT_FOUND with the pull command', async () => {
    fake.enqueue({ fault: 'status', status: 404, message: `model "${model}" not found, try pulling it first` });
    const error = await expectProviderError(run(ollama, mode, ask('hi')), 'MODEL_NOT_FOUND');
    expect(error.fix).toBe(`\`ollama pull ${model}\``);
  });

  it('classifies a model that is not pulled as MODEL_NOT_FOUND with the pull command', async () => {
    const error = await expectProviderError(run(ollama, mode, ask('hi', { model: 'mistral:7b' })), 'MODEL_NOT_FOUND');
    expect(error.fix).toBe('`ollama pull mistral:7b`');
  });

  it('aborts a hanging request when the caller aborts, cancelling it upstream', async () => {
    await ollama.capabilities?.(model);
    fake.enqueue({ fault: 'hang' });
    const controller = new AbortController();
    const pending = run(ollama, mode, ask('hi', { signal: controller.signal }));
    await vi.waitFor(() => expect(fake.requestsTo('/api/chat')).toHaveLength(1));
    controller.abort();
    await expectProviderError(pending, 'ABORTED');
    await vi.waitFor(() => expect(fake.requestsTo('/api/chat')[0]?.aborted).toBe(true));
  });

  it('classifies a response cut before the first token as STREAM_CUT', async () => {
    fake.enqueue({ fault: 'cut-before-first-token' });
    await expectProviderError(run(ollama, mode, ask('hi')), 'STREAM_CUT');
  });

  it('classifies a response cut part-way as STREAM_CUT', async () => {
    fake.enqueue({ fault: 'cut-after-chunks', chunks: 3, reply: { text: 'a b c d e f' } });
    await expectProviderError(run(ollama, mode, ask('hi')), 'STREAM_CUT');
  });

  it('classifies a failure inside a 200 stream as UPSTREAM_ERROR, and as SERVER_ERROR when not streaming', async () => {
    fake.enqueue({ fault: 'stream-error', chunks: 2, message: 'engine crashed' });
    const error = await expectProviderError(
      run(ollama, mode, ask('hi')),
      mode === 'stream' ? 'UPSTREAM_ERROR' : 'SERVER_ERROR',
    );
    expect(error.message).toContain('engine crashed');
  });

  it('classifies malformed JSON as BAD_RESPONSE', async () => {
    fake.enqueue({ fault: 'malformed-json' });
    await expectProviderError(run(ollama, mode, ask('hi')), 'BAD_RESPONSE');
  });

  it('classifies a refused connection as CONNECTION_FAILED with the fix to start Ollama', async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    const down = createOllamaProvider({ id: 'ollama', host });
    const error = await expectProviderError(run(down, mode, ask('hi')), 'CONNECTION_FAILED');
    expect(error.message).toContain(host);
    expect(error.fix).toContain('ollama serve');
    await down.close?.();
  });
});

describe('Ollama provider, streaming only', () => {
  it('streams text as it comes and ends with one finish', async () => {
    fake.enqueue({ text: 'one two three' });
    const events = await collect(ollama.stream(ask('count')));
    expect(events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text)).toEqual([
      'one ',
      'two ',
      'three',
    ]);
    expect(events.filter((e) => e.type === 'finish')).toHaveLength(1);
  });

  it('streams ordinary text at once when tools were offered', async () => {
    fake.enqueue({ text: 'No tool is needed for this.' });
    const events = await collect(ollama.stream(ask('hi', { tools: [readFile] })));
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1);
  });

  it('classifies a stream cut after some chunks as STREAM_CUT, after yielding them', async () => {
    fake.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'a b c d e f' } });
    const seen: string[] = [];
    const consume = async () => {
      for await (const event of ollama.stream(ask('hi'))) if (event.type === 'text-delta') seen.push(event.text);
    };
    await expectProviderError(consume(), 'STREAM_CUT');
    expect(seen.join('')).toBe('a b ');
  });

  it('classifies an {"error"} line inside a 200 stream as UPSTREAM_ERROR', async () => {
    fake.enqueue({ fault: 'stream-error', chunks: 1, message: 'an error was encountered while running the model' });
    const error = await expectProviderError(collect(ollama.stream(ask('hi'))), 'UPSTREAM_ERROR');
    expect(error.message).toContain('an error was encountered while running the model');
  });

  it('aborts mid-stream with ABORTED, cancelling upstream', async () => {
    fake.enqueue({ text: 'a b c d e f g h', chunkDelayMs: 50 });
    const controller = new AbortController();
    const consume = async () => {
      for await (const event of ollama.stream(ask('hi', { signal: controller.signal }))) {
        if (event.type === 'text-delta') controller.abort();
      }
    };
    await expectProviderError(consume(), 'ABORTED');
    await vi.waitFor(() => expect(fake.requestsTo('/api/chat')[0]?.aborted).toBe(true));
  });

  it('cancels the upstream request when the consumer stops reading', async () => {
    fake.enqueue({ text: 'a b c d e f g h', chunkDelayMs: 50 });
    for await (const event of ollama.stream(ask('hi'))) if (event.type === 'text-delta') break;
    await vi.waitFor(() => expect(fake.requestsTo('/api/chat')[0]?.aborted).toBe(true));
  });
});

describe('Ollama provider, capabilities', () => {
  it('reads tools and context length from /api/show', async () => {
    expect(await ollama.capabilities?.('gemma:2b')).toEqual({ tools: false, contextLength: 8_192 });
    expect(await ollama.capabilities?.(model)).toEqual({ tools: true, contextLength: 32_768 });
  });

  it('asks /api/show once per model', async () => {
    const fresh = createOllamaProvider({ id: 'ollama', host: fake.host });
    await fresh.capabilities?.('tiny:1b');
    await run(fresh, 'chat', ask('hi', { model: 'tiny:1b' }));
    await run(fresh, 'stream', ask('hi', { model: 'tiny:1b' }));
    expect(fake.requestsTo('/api/show')).toHaveLength(1);
    await fresh.close?.();
  });

  it('asks again after a failure instead of caching it', async () => {
    const fresh = createOllamaProvider({ id: 'ollama', host: fake.host });
    await expect(fresh.capabilities?.('later:1b')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(fresh.capabilities?.('later:1b')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(fake.requestsTo('/api/show')).toHaveLength(2);
    await fresh.close?.();
  });

  it('is local for a loopback host and remote otherwise', () => {
    expect(ollama.remote).toBe(false);
    expect(createOllamaProvider({ id: 'o', host: 'http://10.0.0.5:11434' }).remote).toBe(true);
    expect(ollama.kind).toBe('ollama');
  });
});
