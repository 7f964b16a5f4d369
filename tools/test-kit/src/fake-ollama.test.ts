import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cosineSimilarity } from './embedding';
import { FakeOllama, nomicEmbedModel } from './fake-ollama';
import { textToolCall } from './text';

let fake: FakeOllama;
let client: Ollama;

beforeAll(async () => {
  fake = await FakeOllama.start({
    models: [
      { name: 'qwen2.5-coder:7b' },
      { name: 'llama2:7b', family: 'llama', contextLength: 4096, capabilities: ['completion'] },
      { ...nomicEmbedModel, contextLength: 8 },
    ],
  });
  client = new Ollama({ host: fake.host });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ask = (content: string) => [{ role: 'user', content }];

describe('FakeOllama with the official ollama client', () => {
  it('answers the root, version, tags and show', async () => {
    expect(await (await fetch(fake.host)).text()).toBe('Ollama is running');
    expect(await client.version()).toEqual({ version: '0.12.6' });
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toEqual(['qwen2.5-coder:7b', 'llama2:7b', 'nomic-embed-text:latest']);
    expect(tags.models[0]?.details.parameter_size).toBe('7.6B');
    const show = await client.show({ model: 'qwen2.5-coder:7b' });
    expect(show.capabilities).toContain('tools');
    expect(show.model_info['qwen2.context_length' as never]).toBe(32768);
  });

  it('streams chat as NDJSON by default and ends with done and nanosecond stats', async () => {
    fake.enqueue({ text: 'one two three' });
    const parts: string[] = [];
    let last: { done: boolean; done_reason?: string; eval_count?: number } | undefined;
    for await (const part of await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('count'), stream: true })) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.join('')).toBe('one two three');
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: 3 });
    const raw = await fetch(`${fake.host}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: ask('hi') }),
    });
    expect(raw.headers.get('content-type')).toBe('application/x-ndjson');
    expect((await raw.text()).trim().split('\n').length).toBe(3);
  });

  it('answers a non-streaming chat with the echo default', async () => {
    const r = await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('hello'), stream: false });
    expect(r.message.content).toBe('echo: hello');
    expect(r.prompt_eval_count).toBe(1);
  });

  it('returns tool calls with object arguments', async () => {
    fake.enqueue({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.txt' } }] });
    const r = await client.chat({
      model: 'qwen2.5-coder:7b',
      messages: ask('read'),
      tools: [
        {
          type: 'function',
          function: { name: 'read_file', description: 'read', parameters: { type: 'object', properties: {} } },
        },
      ],
    });
    expect(r.message.tool_calls?.[0]?.function).toMatchObject({ name: 'read_file', arguments: { path: 'a.txt' } });
  });

  it('can answer with a qwen-style tool call written as text', async () => {
    fake.enqueue({ text: textToolCall('list_files', { path: '.' }, 'tagged') });
    const r = await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('ls') });
    expect(r.message.content).toBe('<tool_call>\n{"name":"list_files","arguments":{"path":"."}}\n</tool_call>');
    expect(r.message.tool_calls).toBeUndefined();
  });

  it('streams /api/generate', async () => {
    fake.enqueue({ text: 'once upon a time' });
    const parts: string[] = [];
    for await (const part of await client.generate({ model: 'qwen2.5-coder:7b', prompt: 'story', stream: true }))
      parts.push(part.response ?? '');
    expect(parts.join('')).toBe('once upon a time');
  });

  it('refuses an unknown model with 404 and tools on a model without the capability with 400', async () => {
    await expect(client.chat({ model: 'missing:1b', messages: ask('x') })).rejects.toMatchObject({
      status_code: 404,
      error: 'model "missing:1b" not found, try pulling it first',
    });
    await expect(
      client.chat({
        model: 'llama2:7b',
        messages: ask('x'),
        tools: [
          {
            type: 'function',
            function: { name: 't', description: 'd', parameters: { type: 'object', properties: {} } },
          },
        ],
      }),
    ).rejects.toMatchObject({ status_code: 400, error: 'registry.ollama.ai/library/llama2:7b does not support tools' });
  });

  it('lists loaded models in /api/ps after a chat', async () => {
    await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('x') });
    expect((await client.ps()).models.map((m) => m.name)).toContain('qwen2.5-coder:7b');
  });
});

describe('FakeOllama faults', () => {
  it('returns 503 with its error body', async () => {
    fake.enqueue({ fault: 'status', status: 503 });
    await expect(client.chat({ model: 'qwen2.5-coder:7b', messages: ask('x') })).rejects.toMatchObject({
      status_code: 503,
    });
  });

  it('sends an error line inside a 200 stream', async () => {
    fake.enqueue({ fault: 'stream-error', chunks: 1, message: 'model runner crashed' });
    const parts: string[] = [];
    await expect(async () => {
      for await (const part of await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('a b c'), stream: true })) {
        parts.push(part.message.content);
      }
    }).rejects.toThrow('model runner crashed');
    expect(parts).toEqual(['echo: ']);
  });

  it('cuts a stream after N chunks', async () => {
    fake.enqueue({ fault: 'cut-after-chunks', chunks: 1, reply: { text: 'a b c' } });
    const parts: string[] = [];
    const iterate = async () => {
      for await (const part of await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('x'), stream: true })) {
        parts.push(part.message.content);
      }
    };
    await expect(iterate()).rejects.toThrow();
    expect(parts).toEqual(['a ']);
  });

  it('sends malformed JSON', async () => {
    fake.enqueue({ fault: 'malformed-json' });
    await expect(client.chat({ model: 'qwen2.5-coder:7b', messages: ask('x'), stream: false })).rejects.toThrow();
  });

  it('refuses connections', async () => {
    await fake.refuse();
    await expect(client.version()).rejects.toThrow(/fetch failed|ECONNREFUSED/);
    await fake.accept();
    await expect(client.version()).resolves.toEqual({ version: '0.12.6' });
  });
});

describe('FakeOllama logprobs', () => {
  it('returns top-level logprobs on each streamed line when asked, as Ollama 0.12.11 does', async () => {
    fake.enqueue({ text: 'one two' });
    const raw = await fetch(`${fake.host}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: ask('x'), logprobs: true, top_logprobs: 2 }),
    });
    const lines = (await raw.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const tokens = lines.flatMap((l) => l.logprobs ?? []);
    expect(tokens.map((t: { token: string }) => t.token)).toEqual(['one ', 'two']);
    expect(tokens[0]).toMatchObject({ logprob: expect.any(Number), bytes: [...Buffer.from('one ')] });
    expect(tokens[0].top_logprobs).toHaveLength(2);
    expect(lines.at(-1).done).toBe(true);
  });

  it('returns them in a non-streaming answer, and none unless asked', async () => {
    fake.enqueue({ text: 'a b c' }, { text: 'a b c' });
    const withLogprobs = await client.chat({
      model: 'qwen2.5-coder:7b',
      messages: ask('x'),
      stream: false,
      logprobs: true,
    });
    expect(withLogprobs.logprobs?.map((t) => t.token)).toEqual(['a ', 'b ', 'c']);
    expect(withLogprobs.logprobs?.[0]).not.toHaveProperty('top_logprobs');
    const without = await client.chat({ model: 'qwen2.5-coder:7b', messages: ask('x'), stream: false });
    expect(without.logprobs).toBeUndefined();
  });
});

describe('FakeOllama embeddings', () => {
  it('embeds a list with /api/embed: unit vectors derived from the text, counts and durations', async () => {
    const r = await client.embed({ model: 'nomic-embed-text', input: ['red apple pie', 'red apple tart', 'tax law'] });
    expect(r.model).toBe('nomic-embed-text');
    const [a, b, c] = r.embeddings;
    expect(a).toHaveLength(768);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 5);
    expect(cosineSimilarity(a ?? [], b ?? [])).toBeGreaterThan(0.5);
    expect(cosineSimilarity(a ?? [], c ?? [])).toBeLessThan(0.3);
    expect(r.prompt_eval_count).toBe(3 + 3 + 2);
    expect(r.total_duration).toBeGreaterThan(0);
  });

  it('honours dimensions and refuses input over the context with truncate: false', async () => {
    const r = await client.embed({ model: 'nomic-embed-text', input: 'hello', dimensions: 32 });
    expect(r.embeddings[0]).toHaveLength(32);
    const long = 'w '.repeat(9);
    await expect(client.embed({ model: 'nomic-embed-text', input: long, truncate: false })).rejects.toMatchObject({
      status_code: 400,
    });
    const cut = await client.embed({ model: 'nomic-embed-text', input: long });
    expect(cut.embeddings).toHaveLength(1);
  });

  it('answers the legacy /api/embeddings with one vector that is not normalised', async () => {
    const legacy = await client.embeddings({ model: 'nomic-embed-text', prompt: 'red apple pie' });
    const current = await client.embed({ model: 'nomic-embed-text', input: 'red apple pie' });
    expect(Math.hypot(...legacy.embedding)).toBeGreaterThan(1.5);
    expect(cosineSimilarity(legacy.embedding, current.embeddings[0] ?? [])).toBeCloseTo(1, 5);
  });

  it('refuses a chat-only model and an unknown one in Ollama error shape', async () => {
    await expect(client.embed({ model: 'qwen2.5-coder:7b', input: 'x' })).rejects.toMatchObject({ status_code: 400 });
    await expect(client.embed({ model: 'missing', input: 'x' })).rejects.toMatchObject({
      status_code: 404,
      error: 'model "missing" not found, try pulling it first',
    });
  });

  it('has no /api/embed before Ollama 0.3.0, only the legacy endpoint', async () => {
    const old = await FakeOllama.start({ version: '0.2.8', models: [nomicEmbedModel] });
    try {
      const r = await fetch(`${old.host}/api/embed`, {
        method: 'POST',
        body: JSON.stringify({ model: 'nomic-embed-text', input: 'x' }),
      });
      expect(r.status).toBe(404);
      expect(await r.text()).toBe('404 page not found');
      const legacy = await new Ollama({ host: old.host }).embeddings({ model: 'nomic-embed-text', prompt: 'x' });
      expect(legacy.embedding).toHaveLength(768);
    } finally {
      await old.close();
    }
  });

  it('injects faults into embeddings: 503 and a reset', async () => {
    fake.enqueue({ fault: 'status', status: 503 }, { fault: 'reset' });
    await expect(client.embed({ model: 'nomic-embed-text', input: 'x' })).rejects.toMatchObject({ status_code: 503 });
    await expect(client.embed({ model: 'nomic-embed-text', input: 'x' })).rejects.toThrow();
  });
});
