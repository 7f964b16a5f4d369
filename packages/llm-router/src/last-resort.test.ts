import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatResponse } from '@unity/core';
import { freePort } from '@unity/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildGguf } from './__tests__/gguf-fixture';
import { ask, type ConfigPatch, collect, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import { ProviderError, RouterError } from './errors';
import type { Provider, ProviderRequest, StreamEvent } from './provider';
import type { Router } from './router';
import type { RouterEventMap } from './router-events';

const bed = useRouterTestBed();
const { fakes } = bed;

/** A stand-in for the embedded engine: answers `from the store: <model>`, or fails when told to. */
class FakeEngine implements Provider {
  readonly id = 'llamacpp';
  readonly kind = 'llamacpp' as const;
  readonly remote = false;
  readonly requests: ProviderRequest[] = [];
  failWith: Error | undefined;

  async chat(request: ProviderRequest): Promise<ChatResponse> {
    this.requests.push(request);
    if (this.failWith) throw this.failWith;
    return {
      content: `from the store: ${request.model}`,
      toolCalls: [],
      usage: { inputTokens: 1, outputTokens: 4, totalTokens: 5 },
      finishReason: 'stop',
      model: request.model,
    };
  }

  async *stream(request: ProviderRequest): AsyncIterable<StreamEvent> {
    const response = await this.chat(request);
    for (const word of response.content.split(/(?<= )/)) yield { type: 'text-delta', text: word };
    yield { type: 'finish', finishReason: 'stop', usage: response.usage, model: response.model };
  }
}

let store: string;
let engine: FakeEngine;
let deadOllama: string;

beforeEach(async () => {
  store = await mkdtemp(join(tmpdir(), 'unity-last-resort-'));
  engine = new FakeEngine();
  deadOllama = `http://127.0.0.1:${await freePort()}`;
  const gguf = buildGguf({
    metadata: { 'general.architecture': 'llama', 'llama.context_length': { u32: 512 } },
    tensors: [[8, 8]],
  });
  await writeFile(join(store, 'older.gguf'), gguf);
  await writeFile(join(store, 'tiny.gguf'), gguf);
  await utimes(join(store, 'older.gguf'), new Date(2020, 1, 1), new Date(2020, 1, 1));
});
afterEach(async () => {
  await rm(store, { recursive: true, force: true });
});

/** The fake cloud with no key (skipped) and an Ollama that refuses connections: nothing configured can answer. */
function downRouter(patch: ConfigPatch = {}, env: Record<string, string> = {}): Router {
  const config = fakeConfig(fakes, {
    ollama: { host: deadOllama },
    llamacpp: { store_dir: store },
    ...patch,
  });
  return bed.use(routerFor(config, { env, providers: { llamacpp: engine } }));
}

/** Models that are all remote (OpenAI's own API): local-only withholds every one. */
const onlyRemote = { reasoning: 'openai/gpt-4o-mini', coding: 'openai/gpt-4o-mini', fallback: 'openai/gpt-4o-mini' };

async function failure(promise: Promise<unknown>): Promise<RouterError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!RouterError.isInstance(error)) throw new Error(`expected a RouterError, got ${String(error)}`);
  return error;
}

describe('router.last_resort: store (the default)', () => {
  it('answers with the store’s newest model when every model of the chain failed, marking it in the attempts', async () => {
    const router = downRouter();
    const response = await router.chat(ask('anyone?'));
    expect(response.content).toBe('from the store: tiny');
    expect(response.provider).toBe('llamacpp');
    expect(engine.requests[0]?.model).toBe('tiny');
    expect(response.attempts.map((a) => [a.model, a.ok, a.error?.code, a.lastResort])).toEqual([
      ['minimax/MiniMax-M2', false, 'AUTH_FAILED', undefined],
      ['ollama_chat/qwen2.5-coder:7b', false, 'CONNECTION_FAILED', undefined],
      ['ollama_chat/llama3.2:1b', false, 'CONNECTION_FAILED', undefined],
      ['llamacpp/tiny', true, undefined, true],
    ]);
  });

  it('emits a last-resort event naming the store model, with the chain’s failures', async () => {
    const router = downRouter();
    const events: RouterEventMap['last-resort'][0][] = [];
    router.on('last-resort', (event) => events.push(event));
    await router.chat(ask('anyone?'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      provider: 'llamacpp',
      model: 'llamacpp/tiny',
      name: 'tiny',
      path: join(store, 'tiny.gguf'),
    });
    expect(events[0]?.attempts.map((a) => a.ok)).toEqual([false, false, false]);
  });

  it('streams the store model’s answer', async () => {
    const router = downRouter();
    const { events, text, thrown } = await collect(router.stream(ask('anyone?')));
    expect(thrown).toBeUndefined();
    expect(text).toBe('from the store: tiny');
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1);
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.attempts.at(-1)?.lastResort).toBe(true);
  });

  it('finds the store through UNITY_MODELS_DIR in the env passed in when the config names no folder', async () => {
    const config = fakeConfig(fakes, { ollama: { host: deadOllama } });
    const router = bed.use(routerFor(config, { env: { UNITY_MODELS_DIR: store }, providers: { llamacpp: engine } }));
    expect((await router.chat(ask('anyone?'))).content).toBe('from the store: tiny');
  });

  it('is allowed under privacy.local_only, even when local-only leaves no configured model', async () => {
    const router = downRouter({ privacy: { local_only: true }, models: onlyRemote });
    const response = await router.chat(ask('private'));
    expect(response.content).toBe('from the store: tiny');
    expect(response.attempts).toEqual([expect.objectContaining({ model: 'llamacpp/tiny', lastResort: true })]);
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('lists both failures and both fixes when the store model fails too', async () => {
    engine.failWith = new ProviderError({
      code: 'NOT_INSTALLED',
      message: 'the embedded engine is not installed',
      fix: 'npm install node-llama-cpp',
      provider: 'llamacpp',
      model: 'tiny',
    });
    const error = await failure(downRouter().chat(ask('anyone?')));
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.message).toContain('no model could answer (3 in the chain)');
    expect(error.message).toContain('[CONNECTION_FAILED]');
    expect(error.message).toContain(
      `the embedded last resort, tiny from the model store (${join(store, 'tiny.gguf')}), failed too: the embedded engine is not installed [NOT_INSTALLED]`,
    );
    expect(error.fix).toBe('apply the fix of any one model above; or for the last resort: npm install node-llama-cpp');
    expect(error.attempts.at(-1)).toMatchObject({ model: 'llamacpp/tiny', ok: false, lastResort: true });
  });

  it('fails as before when the store is empty', async () => {
    await rm(store, { recursive: true, force: true });
    const error = await failure(downRouter().chat(ask('anyone?')));
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.message).not.toContain('last resort');
    expect(engine.requests).toHaveLength(0);
  });

  it('does not try the store model again when the chain already failed on it', async () => {
    engine.failWith = new Error('engine crashed');
    const router = downRouter({ models: { fallback: 'llamacpp/tiny' } });
    const error = await failure(router.chat(ask('anyone?')));
    expect(error.message).not.toContain('last resort');
    expect(engine.requests).toHaveLength(1);
  });

  it('is not used when a provider refused the request (a rejected key is no outage)', async () => {
    fakes.cloud.enqueue({ fault: 'status', status: 401 });
    const error = await failure(downRouter({}, { MINIMAX_API_KEY: 'sk-wrong' }).chat(ask('anyone?')));
    expect(error.code).toBe('REQUEST_REFUSED');
    expect(engine.requests).toHaveLength(0);
  });
});

describe('the last resort turned off', () => {
  it('is not used with cloud_llm.fallback_to_local: false', async () => {
    const error = await failure(downRouter({ cloud_llm: { fallback_to_local: false } }).chat(ask('anyone?')));
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.attempts.map((a) => a.model)).toEqual(['minimax/MiniMax-M2']);
    expect(engine.requests).toHaveLength(0);
  });

  it('is not used with router.last_resort: none', async () => {
    const error = await failure(downRouter({ router: { last_resort: 'none' } }).chat(ask('anyone?')));
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.message).not.toContain('last resort');
    expect(engine.requests).toHaveLength(0);
  });

  it('keeps NO_PROVIDER when local-only leaves no model and the last resort is off', async () => {
    const router = downRouter({ privacy: { local_only: true }, models: onlyRemote, router: { last_resort: 'none' } });
    const error = await failure(router.chat(ask('private')));
    expect(error.code).toBe('NO_PROVIDER');
    expect(engine.requests).toHaveLength(0);
  });
});
