import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHub, sharedModelPath } from '@unity/test-kit';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

const modelPath = sharedModelPath();
if (!modelPath)
  console.warn('ollama-models.test.ts: the model store tests are skipped: ../shared/models/stories260K.gguf is absent');
const storiesSha = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';

let h: Harness;
let client: Ollama;
let store: string;
let hub: FakeHub | undefined;

beforeAll(async () => {
  store = await mkdtemp(join(tmpdir(), 'unity-ollama-models-'));
  if (modelPath) {
    await copyFile(modelPath, join(store, 'stories260K.gguf'));
    hub = await FakeHub.start({
      files: [{ repo: 'tiny/stories', path: 'stories-copy.gguf', bytes: await readFile(modelPath) }],
    });
  }
  h = await startHarness({
    extraYaml: [
      '  serve_models: [ollama_chat/*, llamacpp/*]',
      'llamacpp:',
      `  store_dir: ${JSON.stringify(store)}`,
      '  context_size: 512',
      '',
    ].join('\n'),
    ollama: {
      models: [
        { name: 'qwen2.5-coder:7b' },
        { name: 'gemma3:1b', family: 'gemma3', capabilities: ['completion'], contextLength: 8192, size: 815_319_791 },
        { name: 'nomic-embed-text', family: 'nomic-bert', capabilities: ['embedding'], contextLength: 2048 },
      ],
    },
  });
  client = new Ollama({ host: h.url });
}, 30_000);
afterAll(async () => {
  await h?.close();
  await hub?.close();
  await rm(store, { recursive: true, force: true });
});
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

const ask = [{ role: 'user', content: 'Once upon a time' }];

describe('/api/version', () => {
  it('reports the Ollama API version the gateway speaks, and Unity’s own in a field and a header', async () => {
    expect(await client.version()).toEqual({ version: '0.12.6', unity_version: '0.1.0' });
    const raw = await fetch(`${h.url}/api/version`);
    expect(raw.headers.get('x-unity-version')).toBe('0.1.0');
  });
});

describe('/api/show', () => {
  it('gives an Ollama model’s context length under <arch>.context_length and its capabilities', async () => {
    const show = await client.show({ model: 'ollama_chat/qwen2.5-coder:7b' });
    expect(show.model_info).toMatchObject({ 'general.architecture': 'qwen2', 'qwen2.context_length': 32_768 });
    expect(show.capabilities).toEqual(['completion', 'tools', 'insert']);
    expect(show.details).toMatchObject({ family: 'qwen2', parameter_size: '7.6B', quantization_level: 'Q4_K_M' });
  });

  it('claims tools only for a model that has them, and no completion for an embedding model', async () => {
    expect((await client.show({ model: 'gemma3:1b' })).capabilities).toEqual(['completion']);
    const embed = await client.show({ model: 'nomic-embed-text' });
    expect(embed.capabilities).toEqual(['embedding']);
    expect(embed.model_info).toMatchObject({ 'nomic-bert.context_length': 2048 });
  });

  it('describes a chain by what all its models share: tools only if every one has them', async () => {
    const unity = await client.show({ model: 'unity' });
    expect(unity.capabilities).toEqual(['completion', 'tools']);
    expect(unity.model_info).toMatchObject({ 'openai.context_length': 32_768 });
  });

  it.skipIf(!modelPath)('gives a store model the context the embedded engine serves it with', async () => {
    const show = await client.show({ model: 'llamacpp/stories260K' });
    expect(show.model_info).toEqual({ 'general.architecture': 'llama', 'llama.context_length': 512 });
    expect(show.capabilities).toEqual(['completion', 'tools']);
    expect(show.details).toMatchObject({
      format: 'gguf',
      family: 'llama',
      quantization_level: 'F32',
      parameter_size: '293K',
    });
  });
});

describe('/api/tags', () => {
  it('gives Ollama’s sizes, digests and families for its models, and zeros only for a cloud-first name', async () => {
    const { models } = await client.list();
    const qwen = models.find((m) => m.name === 'ollama_chat/qwen2.5-coder:7b');
    expect(qwen).toMatchObject({
      size: 4_683_087_332,
      details: { format: 'gguf', family: 'qwen2', families: ['qwen2'], parameter_size: '7.6B' },
    });
    expect(qwen?.digest).toMatch(/^[0-9a-f]{64}$/);
    // Served by pattern: every model Ollama has is listed under its model string.
    expect(models.find((m) => m.name === 'ollama_chat/gemma3:1b')?.size).toBe(815_319_791);
    expect(models.find((m) => m.name === 'unity')).toMatchObject({ size: 0, digest: '' });
  });

  it.skipIf(!modelPath)('gives a store model its file size, sha256 and GGUF family', async () => {
    const { models } = await client.list();
    expect(models.find((m) => m.name === 'llamacpp/stories260K')).toMatchObject({
      size: 1_185_376,
      digest: storiesSha,
      details: { format: 'gguf', family: 'llama' },
    });
  });
});

describe('/api/ps', () => {
  it('lists what Ollama holds loaded, under its model string', async () => {
    await client.chat({ model: 'gemma3:1b', messages: ask, stream: false });
    const { models } = await client.ps();
    const gemma = models.find((m) => m.name === 'ollama_chat/gemma3:1b');
    expect(gemma).toMatchObject({ size: 815_319_791, details: { family: 'gemma3' } });
    expect(new Date(String(gemma?.expires_at)).getTime()).toBeGreaterThan(Date.now());
    expect(models.map((m) => m.name)).not.toContain('ollama_chat/nomic-embed-text:latest');
  });

  it.skipIf(!modelPath)(
    'adds the models the embedded engine has loaded',
    async () => {
      const before = await client.ps();
      expect(before.models.map((m) => m.name)).not.toContain('llamacpp/stories260K');
      const story = await client.generate({
        model: 'llamacpp/stories260K',
        prompt: 'Once upon a time',
        stream: false,
        options: { num_predict: 8, temperature: 0 },
      });
      expect(story.response).toMatch(/\S/);
      const after = await client.ps();
      expect(after.models.find((m) => m.name === 'llamacpp/stories260K')).toMatchObject({
        size: 1_185_376,
        digest: storiesSha,
        size_vram: 0,
        details: { family: 'llama' },
      });
    },
    30_000,
  );
});

describe('/api/pull', () => {
  it('pulls an Ollama model on the upstream, streaming its progress through, then serves it', async () => {
    const parts = [];
    for await (const part of await client.pull({ model: 'llama3.2:1b', stream: true })) parts.push(part);
    expect(parts[0]).toEqual({ status: 'pulling manifest' });
    const progress = parts.filter((p) => p.total > 0);
    expect(progress.at(-1)).toMatchObject({ total: 1_321_098_329, completed: 1_321_098_329 });
    expect(progress.at(-1)?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(parts.at(-1)).toEqual({ status: 'success' });
    expect(h.local.requestsTo('/api/pull')[0]?.body).toMatchObject({ model: 'llama3.2:1b' });
    expect((await client.list()).models.map((m) => m.name)).toContain('ollama_chat/llama3.2:1b');
  });

  it('answers a pull with stream false by its last status', async () => {
    expect(await client.pull({ model: 'ollama_chat/llama3.2:1b', stream: false })).toEqual({ status: 'success' });
  });

  it('ends the stream with Ollama’s error line when the upstream cannot pull it', async () => {
    const error = await (async () => {
      for await (const _ of await client.pull({ model: 'no-such-model:1b', stream: true })) {
        // progress
      }
    })().catch((e: Error) => e);
    expect(String(error)).toContain('Ollama failed to pull no-such-model:1b: pull model manifest: file does not exist');
  });

  it('refuses to pull a chain or a cloud model, saying what to pull instead', async () => {
    const chain = await client.pull({ model: 'unity', stream: false }).catch((e) => e);
    expect(chain.status_code).toBe(400);
    expect(chain.error).toContain('"unity" stands for a chain of models');
    const cloud = await client.pull({ model: 'openai/MiniMax-M2', stream: false }).catch((e) => e);
    expect(cloud.status_code).toBe(400);
    expect(cloud.error).toContain('is a cloud model: there is nothing to pull');
  });

  it.skipIf(!modelPath)('pulls a GGUF file into the model store, with progress in Ollama’s shape', async () => {
    const url = hub?.resolveUrl('tiny/stories', 'stories-copy.gguf') ?? '';
    const parts = [];
    for await (const part of await client.pull({ model: `llamacpp/${url}`, stream: true })) parts.push(part);
    expect(parts[0]?.status).toMatch(/^pulling stories-copy.gguf from http:\/\/127.0.0.1:\d+\//);
    const progress = parts.filter((p) => p.digest === 'stories-copy.gguf');
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toMatchObject({
      status: 'pulling stories-copy.gguf',
      total: 1_185_376,
      completed: 1_185_376,
    });
    const completed = progress.map((p) => p.completed);
    expect(completed).toEqual([...completed].sort((a, b) => a - b));
    expect(parts.slice(-2)).toEqual([
      { status: 'verifying sha256 digest', digest: `sha256:${storiesSha}` },
      { status: 'success' },
    ]);
    expect(existsSync(join(store, 'stories-copy.gguf'))).toBe(true);
    expect((await client.list()).models.map((m) => m.name)).toContain('llamacpp/stories-copy');
  });

  it('refuses a store pull from a path on the gateway’s machine', async () => {
    const error = await client.pull({ model: 'llamacpp/../../etc/model.gguf', stream: false }).catch((e) => e);
    expect(error.status_code).toBe(404);
    expect(existsSync(join(store, 'model.gguf'))).toBe(false);
  });
});

describe('/api/chat and /api/generate with nothing to say', () => {
  it('answer as Ollama does when it loads a model, sending nothing upstream', async () => {
    const chat = await client.chat({ model: 'unity', messages: [], stream: false });
    expect(chat).toMatchObject({ done: true, done_reason: 'load', message: { role: 'assistant', content: '' } });
    const generate = await client.generate({ model: 'unity', prompt: '', stream: false });
    expect(generate).toMatchObject({ done: true, done_reason: 'load', response: '' });
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
    expect(h.local.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('still refuses a chat without a messages field, naming it', async () => {
    const raw = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'unity' }) });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: string }).error).toContain('POST /api/chat: messages: required');
  });
});
