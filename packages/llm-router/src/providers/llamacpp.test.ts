import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage, ToolDefinition } from '@unity/core';
import { sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGguf } from '../__tests__/gguf-fixture';
import { ProviderError } from '../errors';
import type { Provider, ProviderRequest, StreamEvent } from '../provider';
import { createLlamaCppProvider, type LlamaCppEvent } from './llamacpp';

const modelPath = sharedModelPath();
if (!modelPath) console.warn('skipping the embedded-model tests: ../shared/models/stories260K.gguf is absent');

const story = 'Once upon a time, there was a little';

function request(messages: ChatMessage[] | string, extra: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    model: 'stories260K',
    messages: typeof messages === 'string' ? [{ role: 'user', content: messages }] : messages,
    signal: new AbortController().signal,
    ...extra,
  };
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ProviderError.isInstance(error)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.skipIf(!modelPath)('llamacpp provider with the shared model', () => {
  const events: LlamaCppEvent[] = [];
  let provider: Provider;
  let toolProvider: Provider;

  beforeAll(async () => {
    provider = createLlamaCppProvider({
      modelPath: modelPath as string,
      contextSize: 512,
      onEvent: (e) => events.push(e),
    });
    toolProvider = createLlamaCppProvider({
      modelPath: modelPath as string,
      contextSize: 512,
      toolChoice: 'required',
      onEvent: (e) => events.push(e),
    });
    await provider.capabilities?.('stories260K');
  });
  afterAll(async () => {
    await provider?.close?.();
    await toolProvider?.close?.();
  });

  it('loads the model once and reports its context and threads', async () => {
    await provider.chat(request(story, { maxOutputTokens: 2 }));
    const loads = events.filter((e) => e.type === 'model-loaded');
    expect(loads).toHaveLength(1);
    expect(loads[0]).toMatchObject({ modelPath, contextSize: 512, sequences: 2 });
    expect(await provider.capabilities?.('stories260K')).toEqual({ tools: true, contextLength: 512 });
  });

  it('generates the same greedy continuation every time', async () => {
    const first = await provider.chat(request(story, { temperature: 0, maxOutputTokens: 24 }));
    const second = await provider.chat(request(story, { temperature: 0, maxOutputTokens: 24 }));
    expect(first.content).toMatch(/^\s?girl named Lily\. She loved to play outside in the park/);
    expect(second.content).toBe(first.content);
    expect(first).toMatchObject({ finishReason: 'length', model: 'stories260K', toolCalls: [] });
    expect(first.usage.outputTokens).toBe(24);
    expect(first.usage.totalTokens).toBe(first.usage.inputTokens + 24);
  });

  it('repeats a sampled reply for the same seed', async () => {
    const a = await provider.chat(request(story, { temperature: 0.9, seed: 42, maxOutputTokens: 30 }));
    const b = await provider.chat(request(story, { temperature: 0.9, seed: 42, maxOutputTokens: 30 }));
    expect(b.content).toBe(a.content);
  });

  it('streams tokens as text deltas before the finish event', async () => {
    const streamed = await collect(provider.stream(request(story, { maxOutputTokens: 40 })));
    const deltas = streamed.filter((e) => e.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(10);
    expect(streamed.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' });
    expect(streamed.filter((e) => e.type === 'finish')).toHaveLength(1);
  });

  it('stops at a stop sequence and leaves it out', async () => {
    const reply = await provider.chat(request(story, { stop: ['Lily'], maxOutputTokens: 50 }));
    expect(reply.content).toMatch(/^\s?girl named\s?$/);
    expect(reply.finishReason).toBe('stop');
  });

  it('renders a conversation as a transcript and stops before the next user turn', async () => {
    const reply = await provider.chat(
      request(
        [
          { role: 'system', content: 'You tell stories.' },
          { role: 'user', content: 'Tell me a story.' },
          { role: 'assistant', content: 'Once upon a time there was a cat.' },
          { role: 'user', content: 'More!' },
        ],
        { maxOutputTokens: 200 },
      ),
    );
    expect(reply.content.length).toBeGreaterThan(0);
    expect(reply.content).not.toMatch(/^\s/);
    expect(reply.content).not.toContain('\nUser:');
  });

  it('stops generating when the request is aborted, with ABORTED', async () => {
    const controller = new AbortController();
    let deltas = 0;
    const error = await providerError(
      (async () => {
        for await (const event of provider.stream(
          request(story, { maxOutputTokens: 400, signal: controller.signal }),
        )) {
          if (event.type === 'text-delta' && ++deltas === 3) controller.abort();
        }
      })(),
    );
    expect(error.code).toBe('ABORTED');
    expect(deltas).toBeLessThan(40);
    // The sequence went back to the pool: the next request is served.
    expect((await provider.chat(request(story, { maxOutputTokens: 3 }))).usage.outputTokens).toBe(3);
  });

  it('refuses an already aborted request without generating', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await providerError(provider.chat(request(story, { signal: controller.signal })));
    expect(error.code).toBe('ABORTED');
  });

  it('stops generating when the consumer stops reading the stream', async () => {
    for await (const event of provider.stream(request(story, { maxOutputTokens: 400 }))) {
      if (event.type === 'text-delta') break;
    }
    const replies = await Promise.all([1, 2].map(() => provider.chat(request(story, { maxOutputTokens: 5 }))));
    expect(replies.map((r) => r.usage.outputTokens)).toEqual([5, 5]);
  });

  it('frees its sequence at the finish event even when the consumer never closes the stream', async () => {
    // Read each stream up to `finish` by hand and drop it without return(), as a router may; 2 sequences, 3 streams.
    for (let i = 0; i < 3; i++) {
      const iterator = provider.stream(request(story, { maxOutputTokens: 4 }))[Symbol.asyncIterator]();
      for (let step = await iterator.next(); !step.done && step.value.type !== 'finish'; step = await iterator.next()) {
        // text deltas
      }
    }
    expect((await provider.chat(request(story, { maxOutputTokens: 2 }))).usage.outputTokens).toBe(2);
  });

  it('serves more concurrent requests than it has sequences, queueing the rest', async () => {
    events.length = 0;
    const replies = await Promise.all(
      [1, 2, 3, 4].map(() => provider.chat(request('Once upon a time', { temperature: 0, maxOutputTokens: 20 }))),
    );
    expect(replies).toHaveLength(4);
    for (const reply of replies) expect(reply.content).toBe(replies[0]?.content);
    expect(events.some((e) => e.type === 'queued')).toBe(true);
  });

  it('drops a queued request whose caller aborts while it waits, and serves the rest', async () => {
    const controller = new AbortController();
    const single = createLlamaCppProvider({
      modelPath: modelPath as string,
      contextSize: 512,
      sequences: 1,
      // Abort the second request once it sits in the queue (the event comes just before it starts waiting).
      onEvent: (e) => {
        if (e.type === 'queued' && e.waiting === 1) setImmediate(() => controller.abort());
      },
    });
    try {
      await single.capabilities?.('stories260K');
      const first = single.chat(request(story, { maxOutputTokens: 200 }));
      const waiting = single.chat(request(story, { maxOutputTokens: 5, signal: controller.signal }));
      const third = single.chat(request(story, { maxOutputTokens: 5 }));
      expect((await providerError(waiting)).code).toBe('ABORTED');
      expect((await first).usage.outputTokens).toBe(200);
      expect((await third).usage.outputTokens).toBe(5);
    } finally {
      await single.close?.();
    }
  });

  it('formats the conversation with the chat wrapper node-llama-cpp resolves when promptFormat is template', async () => {
    const templated = createLlamaCppProvider({
      modelPath: modelPath as string,
      contextSize: 512,
      promptFormat: 'template',
    });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You tell stories.' },
      { role: 'user', content: 'Tell me a story.' },
    ];
    try {
      const plain = await provider.chat(request(messages, { maxOutputTokens: 5 }));
      const reply = await templated.chat(request(messages, { maxOutputTokens: 5 }));
      expect(reply.usage.outputTokens).toBe(5);
      // The wrapper adds its role markup around the same two messages.
      expect(reply.usage.inputTokens).toBeGreaterThan(plain.usage.inputTokens);
    } finally {
      await templated.close?.();
    }
  });

  it('refuses a prompt longer than the context instead of cutting it', async () => {
    const error = await providerError(provider.chat(request('Once upon a time '.repeat(200))));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toMatch(/the prompt is \d+ tokens, more than the context of 512 tokens/);
  });

  it('constrains a JSON response to the requested schema', async () => {
    const schema = {
      type: 'object',
      properties: { title: { type: 'string' }, happy: { type: 'boolean' } },
      required: ['title', 'happy'],
    };
    const reply = await provider.chat(request('A story title:', { responseFormat: { type: 'json', schema } }));
    const value = JSON.parse(reply.content);
    expect(typeof value.title).toBe('string');
    expect(typeof value.happy).toBe('boolean');
  });

  it('returns a grammar-constrained call of an offered tool as a real ToolCall', async () => {
    const reply = await toolProvider.chat(request('What is the weather in Paris?', { tools: [weather] }));
    expect(reply.finishReason).toBe('tool_calls');
    expect(reply.toolCalls).toHaveLength(1);
    const [call] = reply.toolCalls;
    expect(call?.name).toBe('get_weather');
    expect(typeof call?.arguments.city).toBe('string');
    expect(JSON.parse(call?.rawArguments ?? '')).toEqual(call?.arguments);
    expect(call?.id).toMatch(/^call_/);
  });

  it('streams a tool call as one tool-call event', async () => {
    const streamed = await collect(toolProvider.stream(request('Weather in Rome?', { tools: [weather] })));
    expect(streamed.map((e) => e.type)).toEqual(['tool-call', 'finish']);
  });

  it('with tool choice auto, replies with a valid tool call or plain text, never raw JSON', async () => {
    const reply = await provider.chat(request('What is the weather in Paris?', { tools: [weather] }));
    if (reply.toolCalls.length > 0) expect(reply.toolCalls[0]?.name).toBe('get_weather');
    else expect(reply.content.trim()).not.toMatch(/^\{/);
    expect(reply.finishReason).toBe(reply.toolCalls.length > 0 ? 'tool_calls' : 'stop');
  });

  it("follows the request's toolChoice: a named tool through the grammar, none as a plain answer", async () => {
    const time: ToolDefinition = {
      name: 'get_time',
      description: 'The time in a city.',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    };
    const tools = [weather, time];
    const named = await provider.chat(request('Weather in Paris?', { tools, toolChoice: { name: 'get_time' } }));
    expect(named.toolCalls.map((c) => c.name)).toEqual(['get_time']);
    const required = await provider.chat(request('Hello there', { tools, toolChoice: 'required' }));
    expect(required.toolCalls).toHaveLength(1);
    const none = await toolProvider.chat(request(story, { tools, toolChoice: 'none', maxOutputTokens: 8 }));
    expect(none.toolCalls).toEqual([]);
    expect(none.content.length).toBeGreaterThan(0);
  });

  it('samples with top_p, top_k and penalties, reproducibly for a seed', async () => {
    const sampled = { temperature: 0.9, seed: 3, topP: 0.5, topK: 4, frequencyPenalty: 0.5, maxOutputTokens: 20 };
    const a = await provider.chat(request(story, sampled));
    const b = await provider.chat(request(story, sampled));
    expect(b.content).toBe(a.content);
    expect(a.content.length).toBeGreaterThan(0);
  });

  it('ends with finish reason length when the output cap is larger than what the context has left', async () => {
    const reply = await provider.chat(request(story, { maxOutputTokens: 4096 }));
    expect(reply.finishReason).toBe('length');
    expect(reply.usage.totalTokens).toBeLessThanOrEqual(512);
  });

  it('declares what it honours: everything but log probabilities and reasoning', () => {
    expect(provider.features).toEqual({
      toolChoice: true,
      parallelToolCalls: true,
      logprobs: false,
      topK: true,
      penalties: true,
      reasoning: false,
    });
  });

  it('retries once when the arguments break a constraint the grammar cannot express', async () => {
    events.length = 0;
    const add: ToolDefinition = {
      name: 'add',
      description: 'Add two numbers.',
      parameters: {
        type: 'object',
        properties: { a: { type: 'integer', minimum: 0 }, b: { type: 'integer' } },
        required: ['a', 'b'],
      },
    };
    const reply = await toolProvider.chat(request('Add 2 and 3.', { tools: [add] }));
    const retries = events.filter((e) => e.type === 'tool-retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ reason: expect.stringContaining('invalid arguments for add: a:') });
    expect(reply.toolCalls[0]?.arguments.a).toBeGreaterThanOrEqual(0);
  });

  it('fails with BAD_RESPONSE when the retry is invalid too', async () => {
    const strict: ToolDefinition = {
      name: 'add',
      description: 'Add two numbers.',
      parameters: { type: 'object', properties: { a: { type: 'integer', minimum: 1_000_000 } }, required: ['a'] },
    };
    const error = await providerError(toolProvider.chat(request('Add 2 and 3.', { tools: [strict] })));
    expect(error.code).toBe('BAD_RESPONSE');
    expect(error.message).toContain('no valid tool call or answer in two tries');
    expect(error.transient).toBe(true);
  });
});

describe('llamacpp provider errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-llamacpp-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const tinyGguf = (architecture: string) =>
    buildGguf({ metadata: { 'general.architecture': architecture }, tensors: [[8, 8]] });

  it('names a missing model file and the pull command', async () => {
    const path = join(dir, 'absent.gguf');
    const error = await providerError(createLlamaCppProvider({ modelPath: path }).chat(request('hi')));
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain(`model file not found: ${path}`);
    expect(error.fix).toContain('unity models pull');
    expect(error.provider).toBe('llamacpp');
  });

  it('refuses a file that is not GGUF before loading it', async () => {
    const path = join(dir, 'model.gguf');
    await writeFile(path, '<html>Sign in to download</html>');
    const error = await providerError(createLlamaCppProvider({ modelPath: path }).chat(request('hi')));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toContain('is not a GGUF model file');
  });

  it('refuses a model larger than the free memory', async () => {
    const path = join(dir, 'big.gguf');
    await writeFile(path, tinyGguf('llama'));
    const provider = createLlamaCppProvider({ modelPath: path, freeMemory: () => 100 });
    const error = await providerError(provider.chat(request('hi')));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toMatch(/too large for the free memory/);
  });

  it('refuses an architecture the engine does not know, named from the header', async () => {
    const path = join(dir, 'odd.gguf');
    await writeFile(path, tinyGguf('frobnicator'));
    const error = await providerError(createLlamaCppProvider({ modelPath: path }).chat(request('hi')));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toContain('architecture "frobnicator" is not supported by node-llama-cpp 3.21.1');
  });

  it('says how to install node-llama-cpp when it is missing', async () => {
    const path = join(dir, 'fine.gguf');
    await writeFile(path, tinyGguf('llama'));
    const missing = 'node-llama-cpp-not-installed';
    const provider = createLlamaCppProvider({ modelPath: path, importLibrary: () => import(missing) });
    const error = await providerError(provider.chat(request('hi')));
    expect(error.code).toBe('NOT_INSTALLED');
    expect(error.fix).toMatch(/^npm install node-llama-cpp@3\.21\.1 \(every GPU build.*--omit=optional\)$/);
  });

  it('is a local provider of kind llamacpp', () => {
    const provider = createLlamaCppProvider({ modelPath: join(dir, 'x.gguf'), id: 'embedded' });
    expect(provider).toMatchObject({ id: 'embedded', kind: 'llamacpp', remote: false });
  });
});
