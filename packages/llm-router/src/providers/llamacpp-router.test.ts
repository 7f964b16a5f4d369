import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOpenAI, freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../config';
import type { Attempt } from '../errors';
import { createRouter, type Router } from '../router';

const modelPath = sharedModelPath();
if (!modelPath)
  console.warn('skipping the router-to-embedded-model tests: ../shared/models/stories260K.gguf is absent');

const key = 'sk-test-embedded';

describe.skipIf(!modelPath)('the router falling back to the embedded model', () => {
  let cloud: FakeOpenAI;
  let store: string;
  let router: Router;

  beforeAll(async () => {
    cloud = await FakeOpenAI.start({ apiKey: key });
    store = await mkdtemp(join(tmpdir(), 'unity-store-router-'));
    await copyFile(modelPath as string, join(store, 'stories260K.gguf'));
    const config = parseConfig(
      stringify({
        cloud_llm: { enabled: true, provider: 'minimax', model: 'MiniMax-M2', base_url: cloud.baseURL },
        // By store name for two roles, by path for the third: both resolve to the same file.
        models: {
          reasoning: 'llamacpp/stories260K',
          coding: 'llamacpp/stories260K',
          fallback: `llamacpp/${modelPath}`,
        },
        llamacpp: { store_dir: store, threads: 1, context_size: 512 },
        router: { retries: { max_retries: 0 } },
      }),
      'embedded.yaml',
    );
    router = createRouter({ config, env: { MINIMAX_API_KEY: key } });
  });
  afterAll(async () => {
    await router?.close();
    await cloud?.close();
    await rm(store, { recursive: true, force: true });
  });

  it('answers from the store model when the cloud returns 503', async () => {
    cloud.enqueue({ fault: 'status', status: 503 });
    const response = await router.chat({
      messages: [{ role: 'user', content: 'Once upon a time, there was a little' }],
      temperature: 0,
      maxOutputTokens: 12,
    });
    expect(response.provider).toBe('llamacpp');
    expect(response.content).toMatch(/^\s?girl named Lily/);
    expect(response.attempts.map((a) => [a.provider, a.ok, a.error?.code])).toEqual([
      ['minimax', false, 'SERVER_ERROR'],
      ['llamacpp', true, undefined],
    ]);
  });

  it('streams the embedded model’s tokens after the cloud fails before its first token', async () => {
    cloud.enqueue({ fault: 'status', status: 503 });
    let text = '';
    let deltas = 0;
    for await (const event of router.stream({
      messages: [{ role: 'user', content: 'Once upon a time' }],
      maxOutputTokens: 30,
    })) {
      if (event.type === 'text-delta') {
        text += event.text;
        deltas++;
      }
    }
    expect(deltas).toBeGreaterThan(5);
    expect(text.length).toBeGreaterThan(0);
  });

  it('answers with the store’s model as the last resort when no configured model can, streaming', async () => {
    const config = parseConfig(
      stringify({
        cloud_llm: { enabled: true, provider: 'minimax', model: 'MiniMax-M2', base_url: cloud.baseURL },
        ollama: { host: `http://127.0.0.1:${await freePort()}` },
        llamacpp: { store_dir: store, threads: 1, context_size: 512 },
        router: { retries: { max_retries: 0 } },
      }),
      'last-resort.yaml',
    );
    // No key and no Ollama: every configured model fails, and the default last_resort (store) answers.
    const lastResort = createRouter({ config, env: {} });
    const announced: string[] = [];
    lastResort.on('last-resort', (event) => announced.push(event.name));
    try {
      let text = '';
      let attempts: Attempt[] = [];
      for await (const event of lastResort.stream({
        messages: [{ role: 'user', content: 'Once upon a time, there was a little' }],
        temperature: 0,
        maxOutputTokens: 12,
      })) {
        if (event.type === 'text-delta') text += event.text;
        if (event.type === 'finish') attempts = event.response.attempts;
      }
      expect(text).toMatch(/^\s?girl named Lily/);
      expect(announced).toEqual(['stories260K']);
      expect(attempts.at(-1)).toMatchObject({ provider: 'llamacpp', model: 'llamacpp/stories260K', ok: true });
      expect(attempts.at(-1)?.lastResort).toBe(true);
      expect(attempts.slice(0, -1).map((a) => a.ok)).toEqual([false, false]);
    } finally {
      await lastResort.close();
    }
  });

  it('finds a store model in UNITY_MODELS_DIR when the config names no store folder', async () => {
    const config = parseConfig(
      stringify({
        cloud_llm: { enabled: false },
        models: { reasoning: 'llamacpp/stories260K', coding: 'llamacpp/stories260K', fallback: 'llamacpp/stories260K' },
        llamacpp: { threads: 1, context_size: 512 },
      }),
      'env-store.yaml',
    );
    const fromEnv = createRouter({ config, env: { UNITY_MODELS_DIR: store } });
    try {
      const response = await fromEnv.chat({
        messages: [{ role: 'user', content: 'Once upon a time' }],
        maxOutputTokens: 4,
      });
      expect(response.provider).toBe('llamacpp');
    } finally {
      await fromEnv.close();
    }
  });
});
