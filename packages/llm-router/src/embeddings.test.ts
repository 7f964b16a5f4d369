import { cosineSimilarity, FakeOllama, FakeOpenAI, fakeEmbedding, nomicEmbedModel } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from './config';
import { createEmbedder, type Embedder } from './embeddings';
import { RouterError } from './errors';

const key = 'sk-embed-secret-0123456789';
let cloud: FakeOpenAI;
let ollama: FakeOllama;
let current: Embedder | undefined;

beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: key });
  ollama = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, nomicEmbedModel] });
});
afterAll(() => Promise.all([cloud.close(), ollama.close()]));
afterEach(async () => {
  await current?.close();
  current = undefined;
  cloud.reset();
  ollama.reset();
});

const chain = ['openai/text-embedding-3-small', 'ollama/nomic-embed-text'];

function embedder(options: { models?: string[]; env?: Record<string, string>; cloudTimeout?: number } = {}) {
  const yaml = [
    'cloud_llm:',
    '  provider: openai',
    `  base_url: ${cloud.baseURL}`,
    `  timeout_seconds: ${options.cloudTimeout ?? 30}`,
    'models:',
    `  embedding: [${(options.models ?? chain).join(', ')}]`,
    'ollama:',
    `  host: ${ollama.host}`,
    'router:',
    '  retries:',
    '    max_retries: 0',
    '    initial_delay_ms: 1',
  ].join('\n');
  current = createEmbedder({ config: parseConfig(yaml, 'test.yaml'), env: options.env ?? { OPENAI_API_KEY: key } });
  return current;
}

describe('models.embedding in the config', () => {
  it('defaults to ollama/nomic-embed-text, local', () => {
    expect(defaultConfig.models.embedding).toBe('ollama/nomic-embed-text');
  });

  it('refuses a MiniMax model with the file, line and fix', () => {
    expect(() => parseConfig('models:\n  embedding: minimax/embo-01\n', 'system.yaml')).toThrow(
      /system\.yaml:2.*models\.embedding.*MiniMax has no OpenAI-compatible embeddings API/s,
    );
  });
});

describe('Embedder over the fakes', () => {
  it('embeds with the first model of the chain, one unit vector per input, in order', async () => {
    const r = await embedder().embed({ input: ['red apple pie', 'red apple tart', 'tax law'] });
    expect(r).toMatchObject({ model: 'openai/text-embedding-3-small', provider: 'openai', usage: { inputTokens: 8 } });
    expect(r.embeddings[0]).toHaveLength(1536);
    for (const [i, v] of r.embeddings.entries()) {
      expect(v[0]).toBeCloseTo(fakeEmbedding(['red apple pie', 'red apple tart', 'tax law'][i] ?? '', 1536)[0] ?? 0, 6);
    }
    expect(cosineSimilarity(r.embeddings[0] ?? [], r.embeddings[1] ?? [])).toBeGreaterThan(0.5);
    expect(r.attempts).toEqual([expect.objectContaining({ provider: 'openai', ok: true })]);
    // The vectors came as base64 (a quarter of the bytes) and were decoded.
    expect(cloud.requestsTo('/embeddings')[0]?.body).toMatchObject({ encoding_format: 'base64' });
  });

  it('falls back to Ollama when the cloud fails, listing the failed attempt', async () => {
    cloud.enqueue({ fault: 'status', status: 500 });
    const r = await embedder().embed({ input: 'hello world' });
    expect(r).toMatchObject({ model: 'ollama/nomic-embed-text', provider: 'ollama', usage: { inputTokens: 2 } });
    expect(r.embeddings[0]).toEqual(fakeEmbedding('hello world', 768));
    expect(r.attempts.map((a) => [a.provider, a.ok, a.error?.code])).toEqual([
      ['openai', false, 'SERVER_ERROR'],
      ['ollama', true, undefined],
    ]);
  });

  it.each([
    ['a 429 with Retry-After', { fault: 'status', status: 429, retryAfter: 30 }, 'RATE_LIMITED'],
    ['a timeout', { fault: 'hang' }, 'TIMEOUT'],
    ['a cut body', { fault: 'cut-after-chunks', chunks: 0 }, 'STREAM_CUT'],
    ['malformed JSON', { fault: 'malformed-json' }, 'BAD_RESPONSE'],
    ['a reset connection', { fault: 'reset' }, 'CONNECTION_FAILED'],
  ] as const)('falls back on %s from the cloud', async (_, fault, code) => {
    cloud.enqueue(fault);
    const r = await embedder({ cloudTimeout: 0.3 }).embed({ input: 'x' });
    expect(r.provider).toBe('ollama');
    expect(r.attempts[0]?.error?.code).toBe(code);
  });

  it('keeps a provider that sent Retry-After out until it passes: the next request skips it', async () => {
    cloud.enqueue({ fault: 'status', status: 429, retryAfter: 30 });
    const e = embedder();
    await e.embed({ input: 'x' });
    const second = await e.embed({ input: 'y' });
    expect(second.attempts[0]).toMatchObject({ provider: 'openai', skipped: true, error: { code: 'CIRCUIT_OPEN' } });
    expect(cloud.requestsTo('/embeddings')).toHaveLength(1);
  });

  it('retries a transient failure on the same provider when it is the only one', async () => {
    ollama.enqueue({ fault: 'status', status: 503 });
    const yaml = [
      'models:',
      '  embedding: ollama/nomic-embed-text',
      'ollama:',
      `  host: ${ollama.host}`,
      'router:',
      '  retries:',
      '    max_retries: 1',
      '    initial_delay_ms: 1',
      '    max_delay_ms: 2',
    ].join('\n');
    current = createEmbedder({ config: parseConfig(yaml), env: {} });
    const ok = await current.embed({ input: 'x' });
    expect(ok.attempts.map((a) => a.ok)).toEqual([false, true]);
  });

  it('stops at a 400 from the upstream instead of falling back', async () => {
    const error = await embedder({ models: ['openai/text-embedding-ada-002', 'ollama/nomic-embed-text'] })
      .embed({ input: 'x', dimensions: 8 })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'REQUEST_REFUSED' });
    expect(error.message).toContain('does not support specifying dimensions');
    expect(ollama.requestsTo('/api/embed')).toHaveLength(0);
  });

  it('skips api.openai.com without a key, with the fix, and falls back', async () => {
    const yaml = `models:\n  embedding: [openai/text-embedding-3-small, ollama/nomic-embed-text]\nollama:\n  host: ${ollama.host}\n`;
    current = createEmbedder({ config: parseConfig(yaml), env: {} });
    const r = await current.embed({ input: 'x' });
    expect(r.attempts[0]).toMatchObject({ skipped: true, error: { code: 'AUTH_FAILED' } });
    expect(r.attempts[0]?.error?.fix).toContain('export OPENAI_API_KEY=');
    expect(r.provider).toBe('ollama');
  });

  it('sends no key to a keyless base_url of its own (vLLM, LM Studio), and stops at its 401', async () => {
    const error = await embedder({ env: {} })
      .embed({ input: 'x' })
      .catch((e) => e);
    expect(cloud.requestsTo('/embeddings')[0]?.headers.authorization).toBeUndefined();
    expect(error).toMatchObject({ code: 'REQUEST_REFUSED', message: expect.stringContaining('HTTP 401') });
    expect(RouterError.isInstance(error)).toBe(true);
  });

  it('passes dimensions on, and refuses a model that answers another length', async () => {
    const r = await embedder().embed({ input: 'x', dimensions: 256 });
    expect(r.embeddings[0]).toHaveLength(256);
    expect(cloud.requestsTo('/embeddings')[0]?.body).toMatchObject({ dimensions: 256 });
  });

  it('passes truncate: false on to Ollama, which then refuses a too-long input', async () => {
    const long = 'w '.repeat(3000);
    await expect(
      embedder({ models: ['ollama/nomic-embed-text'] }).embed({ input: long, truncate: false }),
    ).rejects.toMatchObject({ code: 'REQUEST_REFUSED' });
    expect(ollama.requestsTo('/api/embed')[0]?.body).toMatchObject({ truncate: false });
  });

  it('keeps texts on the machine under local-only', async () => {
    const r = await embedder().embed({ input: 'secret', localOnly: true });
    expect(r.provider).toBe('ollama');
    expect(cloud.requests).toHaveLength(0);
    const none = await embedder({ models: ['openai/text-embedding-3-small'] })
      .embed({ input: 'x', localOnly: true })
      .catch((e) => e);
    expect(none).toMatchObject({ code: 'NO_PROVIDER' });
  });

  it('uses a requested model alone, without falling back to another vector space', async () => {
    ollama.enqueue({ fault: 'status', status: 500 });
    const error = await embedder()
      .embed({ input: 'x', model: 'ollama/nomic-embed-text' })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'ALL_PROVIDERS_FAILED' });
    expect(error.attempts).toHaveLength(1);
    expect(cloud.requests).toHaveLength(0);
  });

  it('refuses bad input naming the field, before sending anything', async () => {
    const e = embedder();
    await expect(e.embed({ input: ['ok', ''] })).rejects.toMatchObject({
      code: 'REQUEST_REFUSED',
      message: expect.stringContaining('input[1] is an empty string'),
    });
    await expect(e.embed({ input: [] })).rejects.toMatchObject({ code: 'REQUEST_REFUSED' });
    await expect(e.embed({ input: 'x', dimensions: 0 })).rejects.toThrow(/dimensions must be a positive integer/);
    expect(cloud.requests.length + ollama.requests.length).toBe(0);
  });

  it('ends with the caller abort as ABORTED', async () => {
    cloud.enqueue({ fault: 'hang' });
    const controller = new AbortController();
    const pending = embedder().embed({ input: 'x', signal: controller.signal });
    await cloud.waitForRequests(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    await expect.poll(() => cloud.requests[0]?.aborted).toBe(true);
  });

  it('fails with every attempt and its fix when nothing can answer', async () => {
    cloud.enqueue({ fault: 'status', status: 500 });
    ollama.enqueue({ fault: 'status', status: 500 });
    const error = await embedder()
      .embed({ input: 'x' })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'ALL_PROVIDERS_FAILED' });
    expect(error.message).toMatch(
      /openai\/text-embedding-3-small \(openai\) failed.*ollama\/nomic-embed-text \(ollama\) failed/s,
    );
    expect(error.message).not.toContain(key);
  });
});

describe('Embedder with an Ollama older than 0.3.0', () => {
  it('uses the legacy /api/embeddings one text at a time, with vectors scaled to unit length', async () => {
    const old = await FakeOllama.start({ version: '0.2.8', models: [nomicEmbedModel] });
    try {
      const yaml = `models:\n  embedding: ollama/nomic-embed-text\nollama:\n  host: ${old.host}\n`;
      current = createEmbedder({ config: parseConfig(yaml), env: {} });
      const r = await current.embed({ input: ['red apple', 'tax law'] });
      expect(r.embeddings[0]?.[0]).toBeCloseTo(fakeEmbedding('red apple', 768)[0] ?? 0, 6);
      expect(Math.hypot(...(r.embeddings[1] ?? []))).toBeCloseTo(1, 6);
      expect(old.requestsTo('/api/embeddings')).toHaveLength(2);
      // Learnt once: the next request goes straight to the legacy endpoint.
      await current.embed({ input: 'x' });
      expect(old.requestsTo('/api/embed')).toHaveLength(1);
      await expect(current.embed({ input: 'x', dimensions: 8 })).rejects.toMatchObject({
        attempts: [expect.objectContaining({ error: expect.objectContaining({ code: 'UNSUPPORTED' }) })],
      });
    } finally {
      await current?.close();
      current = undefined;
      await old.close();
    }
  });
});
