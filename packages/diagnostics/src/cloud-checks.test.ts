import { FakeOllama, FakeOpenAI, freePort } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEndpointCheck, cloudKeyCheck } from './cloud-checks';

const key = 'sk-test-123';
let cloud: FakeOpenAI;
beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: key });
});
afterAll(async () => {
  await cloud.close();
});

const base = { provider: 'minimax', keyVariable: 'MINIMAX_API_KEY' };

describe('cloudKeyCheck', () => {
  it('is ok when the variable is set, without printing the key', async () => {
    const outcome = await cloudKeyCheck({ ...base, key, fallbackToLocal: true }).run();
    expect(outcome).toEqual({ status: 'ok', message: 'MINIMAX_API_KEY is set' });
  });

  it('warns about a missing key when the local fallback is on, and marks the provider down', async () => {
    const check = cloudKeyCheck({ ...base, key: undefined, fallbackToLocal: true });
    expect(check.required).toBe(false);
    expect(await check.run()).toEqual({
      status: 'warn',
      up: false,
      message: 'MINIMAX_API_KEY is not set: minimax cannot be used; requests fall back to the local model',
      fix: '`export MINIMAX_API_KEY=<your key>`',
    });
  });

  it('fails on a missing key when the fallback is off', async () => {
    const check = cloudKeyCheck({ ...base, key: '  ', fallbackToLocal: false });
    expect(check.required).toBe(true);
    expect(await check.run()).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('fallback_to_local is off'),
    });
  });

  it('names the configured key variable', async () => {
    const outcome = await cloudKeyCheck({
      ...base,
      keyVariable: 'MY_KEY',
      key: undefined,
      fallbackToLocal: true,
    }).run();
    expect(outcome.fix).toBe('`export MY_KEY=<your key>`');
  });
});

describe('cloudEndpointCheck', () => {
  it('is ok when the endpoint accepts the key, with one GET /models carrying it', async () => {
    cloud.reset();
    const outcome = await cloudEndpointCheck({ ...base, baseURL: cloud.baseURL, key, fallbackToLocal: true }).run();
    // Chat and embedding models, as OpenAI's GET /models lists them.
    const listed = cloud.models.length + Object.keys(cloud.embeddingModels).length;
    expect(outcome).toEqual({ status: 'ok', message: `${cloud.baseURL} accepted the key (${listed} models)` });
    expect(cloud.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['GET', '/v1/models', `Bearer ${key}`],
    ]);
  });

  it('reports a rejected key (401) with the variable to fix, failing without fallback', async () => {
    const outcome = await cloudEndpointCheck({
      ...base,
      baseURL: cloud.baseURL,
      key: 'wrong',
      fallbackToLocal: false,
    }).run();
    expect(outcome.status).toBe('fail');
    expect(outcome.up).toBe(false);
    expect(outcome.message).toBe(
      `${cloud.baseURL} rejected the key in MINIMAX_API_KEY: HTTP 401: Incorrect API key provided.`,
    );
    expect(outcome.fix).toContain('export MINIMAX_API_KEY=');
  });

  it('only warns about a rejected key when the fallback is on', async () => {
    const outcome = await cloudEndpointCheck({
      ...base,
      baseURL: cloud.baseURL,
      key: 'wrong',
      fallbackToLocal: true,
    }).run();
    expect([outcome.status, outcome.up]).toEqual(['warn', false]);
  });

  it('is skipped without a key, sending nothing', async () => {
    cloud.reset();
    const outcome = await cloudEndpointCheck({
      ...base,
      baseURL: cloud.baseURL,
      key: undefined,
      fallbackToLocal: true,
    }).run();
    expect(outcome).toEqual({ status: 'skip', message: 'not checked: MINIMAX_API_KEY is not set' });
    expect(cloud.requests).toHaveLength(0);
  });

  it('probes a keyless self-hosted server (vLLM, LM Studio) without a key, and finds it up', async () => {
    const keyless = await FakeOpenAI.start();
    try {
      const options = {
        provider: 'openai',
        keyVariable: 'OPENAI_API_KEY',
        key: undefined,
        fallbackToLocal: true,
        keyRequired: false,
      };
      expect(await cloudKeyCheck(options).run()).toEqual({
        status: 'ok',
        message: 'no key needed: openai is a self-hosted server (cloud_llm.base_url)',
      });
      const outcome = await cloudEndpointCheck({ ...options, baseURL: keyless.baseURL }).run();
      expect(outcome).toMatchObject({ status: 'ok', message: expect.stringContaining('answers without a key') });
      expect(outcome.up).toBeUndefined();
      expect(keyless.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await keyless.close();
    }
  });

  it('reports an unreachable endpoint', async () => {
    const baseURL = `http://127.0.0.1:${await freePort()}/v1`;
    const outcome = await cloudEndpointCheck({ ...base, baseURL, key, fallbackToLocal: true }).run();
    expect(outcome).toMatchObject({ status: 'warn', up: false, message: expect.stringContaining('ECONNREFUSED') });
  });

  it('accepts an endpoint without /models as reachable, saying the key was not verified', async () => {
    const other = await FakeOllama.start();
    try {
      const outcome = await cloudEndpointCheck({
        ...base,
        baseURL: `${other.origin}/v1`,
        key,
        fallbackToLocal: true,
      }).run();
      expect(outcome).toMatchObject({ status: 'ok', message: expect.stringContaining('key is not verified') });
    } finally {
      await other.close();
    }
  });
});
