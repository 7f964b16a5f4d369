import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cosineSimilarity,
  FakeOllama,
  FakeOpenAI,
  fakeEmbedding,
  gatewayConfigYaml,
  nomicEmbedModel,
} from '@unity/test-kit';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './start-server';

const chain = ['openai/text-embedding-3-small', 'ollama/nomic-embed-text'];
let cloud: FakeOpenAI;
let local: FakeOllama;
let server: RunningServer;
let dir: string;
let openai: OpenAI;
let ollama: Ollama;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, nomicEmbedModel] });
  dir = await mkdtemp(join(tmpdir(), 'unity-embeddings-test-'));
  const configPath = join(dir, 'system.yaml');
  // A short cloud timeout, for the hanging upstream.
  const yaml = gatewayConfigYaml({
    cloudBaseUrl: cloud.baseURL,
    ollamaHost: local.host,
    embeddingModels: chain,
    // Every fault below is a transient failure of the cloud: keep its circuit closed through them.
    routerLines: ['  breaker:', '    failure_threshold: 100'],
  }).replace('  api_key_env: TEST_CLOUD_KEY\n', '  api_key_env: TEST_CLOUD_KEY\n  timeout_seconds: 0.5\n');
  await writeFile(configPath, yaml);
  server = await startServer({ configPath, port: 0, env: { TEST_CLOUD_KEY: 'sk-test' } });
  openai = new OpenAI({ baseURL: `${server.address}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: server.address });
});
afterAll(async () => {
  await server.shutdown({ drainTimeoutMs: 1_000 });
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});
afterEach(() => {
  cloud.reset();
  local.reset();
});

interface OpenAIList {
  object: string;
  data: { embedding: number[] }[];
}
interface OpenAIError {
  error: { message: string; type: string; param: string };
}
interface OllamaError {
  error: string;
}

const post = (path: string, body: unknown) =>
  fetch(`${server.address}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /v1/embeddings', () => {
  it('serves the official openai client (base64 by default) from the first model of the chain', async () => {
    const texts = ['the cat sat on the mat', 'the cat sat on a mat', 'quantum field theory'];
    const r = await openai.embeddings.create({ model: 'embedding', input: texts });
    expect(r.model).toBe('embedding');
    expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [a, b, c] = r.data.map((d) => d.embedding);
    expect(a?.[0]).toBeCloseTo(fakeEmbedding(texts[0] ?? '', 1536)[0] ?? 0, 6);
    expect(cosineSimilarity(a ?? [], b ?? [])).toBeGreaterThan(0.7);
    expect(cosineSimilarity(a ?? [], c ?? [])).toBeLessThan(0.3);
    expect(r.usage).toEqual({ prompt_tokens: 6 + 6 + 3, total_tokens: 15 });
    expect(cloud.requestsTo('/embeddings')).toHaveLength(1);
  });

  it('answers float arrays when asked, with who served in the headers, and honours dimensions', async () => {
    const response = await post('/v1/embeddings', {
      model: 'embedding',
      input: 'hello world',
      encoding_format: 'float',
      dimensions: 64,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-unity-provider')).toBe('openai');
    expect(response.headers.get('x-unity-model')).toBe('openai/text-embedding-3-small');
    const body = (await response.json()) as OpenAIList;
    expect(body.object).toBe('list');
    expect(body.data[0]?.embedding).toHaveLength(64);
    expect(cloud.requestsTo('/embeddings')[0]?.body).toMatchObject({ dimensions: 64 });
  });

  it.each([
    ['HTTP 500', { fault: 'status', status: 500 }, 'SERVER_ERROR'],
    ['a timeout', { fault: 'hang' }, 'TIMEOUT'],
    ['a cut body', { fault: 'cut-after-chunks', chunks: 0 }, 'STREAM_CUT'],
    ['malformed JSON', { fault: 'malformed-json' }, 'BAD_RESPONSE'],
  ] as const)('falls back from a cloud that fails with %s to Ollama', async (_, fault, code) => {
    cloud.enqueue(fault);
    const response = await post('/v1/embeddings', {
      model: 'embedding',
      input: ['red apple'],
      encoding_format: 'float',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-unity-provider')).toBe('ollama');
    expect(response.headers.get('x-unity-attempts')).toBe(
      `openai/text-embedding-3-small ${code}, ollama/nomic-embed-text ok`,
    );
    const body = (await response.json()) as OpenAIList;
    expect(body.data[0]?.embedding).toEqual(fakeEmbedding('red apple', 768));
  });

  it('fails with 502 in OpenAI error shape, naming each attempt, when the whole chain fails', async () => {
    cloud.enqueue({ fault: 'status', status: 500 });
    local.enqueue({ fault: 'status', status: 500 });
    const response = await post('/v1/embeddings', { model: 'embedding', input: 'x' });
    expect(response.status).toBe(502);
    const body = (await response.json()) as OpenAIError;
    expect(body.error.message).toMatch(/openai\/text-embedding-3-small.*ollama\/nomic-embed-text/s);
    expect(body.error.type).toBe('server_error');
  });

  it.each([
    ['an empty string in the list', { model: 'embedding', input: ['ok', ''] }, /^input/],
    ['no model', { input: 'x' }, /^model$/],
    ['token-id input', { model: 'embedding', input: [1, 2, 3] }, /^input/],
    ['a negative dimensions', { model: 'embedding', input: 'x', dimensions: -1 }, /^dimensions$/],
    ['an unknown encoding_format', { model: 'embedding', input: 'x', encoding_format: 'hex' }, /^encoding_format$/],
  ])('refuses %s with 400 naming the field', async (_, body, param) => {
    const response = await post('/v1/embeddings', body);
    expect(response.status).toBe(400);
    const error = ((await response.json()) as OpenAIError).error;
    expect(error.param).toMatch(param);
    expect(error.message).toContain(error.param);
    expect(cloud.requests.length + local.requests.length).toBe(0);
  });

  it('falls back from a 429 with Retry-After, and skips the cloud while it lasts', async () => {
    cloud.enqueue({ fault: 'status', status: 429, retryAfter: 1 });
    const first = await post('/v1/embeddings', { model: 'embedding', input: 'x' });
    expect(first.headers.get('x-unity-attempts')).toBe(
      'openai/text-embedding-3-small RATE_LIMITED, ollama/nomic-embed-text ok',
    );
    const second = await post('/v1/embeddings', { model: 'embedding', input: 'x' });
    expect(second.headers.get('x-unity-attempts')).toBe(
      'openai/text-embedding-3-small CIRCUIT_OPEN, ollama/nomic-embed-text ok',
    );
    expect(cloud.requestsTo('/embeddings')).toHaveLength(1);
  });

  it('answers an unknown model with 404 listing the embedding models', async () => {
    const error = await openai.embeddings.create({ model: 'gpt-4o-mini', input: 'x' }).catch((e) => e);
    expect(error).toMatchObject({ status: 404, param: 'model' });
    expect(error.message).toContain('embedding, openai/text-embedding-3-small, ollama/nomic-embed-text');
  });
});

describe('POST /api/embed and /api/embeddings', () => {
  it('serves the ollama client by bare model name, that model alone', async () => {
    const r = await ollama.embed({ model: 'nomic-embed-text', input: ['red apple pie', 'tax law'] });
    expect(r.model).toBe('nomic-embed-text');
    expect(r.embeddings[1]).toEqual(fakeEmbedding('tax law', 768));
    expect(r.prompt_eval_count).toBe(5);
    expect(r.total_duration).toBeGreaterThan(0);
    expect(cloud.requests).toHaveLength(0);
  });

  it('passes truncate and dimensions to Ollama', async () => {
    const r = await ollama.embed({ model: 'nomic-embed-text:latest', input: 'x', dimensions: 16, truncate: false });
    expect(r.embeddings[0]).toHaveLength(16);
    expect(local.requestsTo('/api/embed')[0]?.body).toMatchObject({ truncate: false, dimensions: 16 });
  });

  it('serves the legacy /api/embeddings with one vector', async () => {
    const r = await ollama.embeddings({ model: 'ollama/nomic-embed-text', prompt: 'red apple' });
    expect(r.embedding).toEqual(fakeEmbedding('red apple', 768));
  });

  it('answers no input with no vectors and nothing sent, as Ollama', async () => {
    const response = await post('/api/embed', { model: 'embedding' });
    expect(await response.json()).toEqual({ model: 'embedding', embeddings: [] });
    expect(local.requests.length + cloud.requests.length).toBe(0);
  });

  it('gives errors in Ollama shape: a bad input, an unknown model, a failed upstream', async () => {
    const bad = await post('/api/embed', { model: 'embedding', input: 42 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as OllamaError).error).toMatch(/input/);
    await expect(ollama.embed({ model: 'all-minilm', input: 'x' })).rejects.toMatchObject({ status_code: 404 });
    local.enqueue({ fault: 'status', status: 503 });
    const failed = await post('/api/embed', { model: 'nomic-embed-text', input: 'x' });
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as OllamaError).error).toContain('ollama/nomic-embed-text');
  });
});
