// Test support (not exported): fake upstreams and configs pointing at them, for the router's tests.
import { FakeOllama, FakeOpenAI } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../config';
import type { UnityConfig } from '../config-schema';
import { createRouter, type Router, type RouterOptions } from '../router';
import type { RouterStreamEvent } from '../router-types';

export const cloudKey = 'sk-test-secret-0123456789abcdef';

interface Fakes {
  cloud: FakeOpenAI;
  ollama: FakeOllama;
  close(): Promise<void>;
  reset(): void;
}

/**
 * The setup every router test file shares: the fakes, started once for the file and reset after each test, and
 * `use(router)`, which closes that router after the test. `fakes` may only be touched inside hooks and tests.
 */
export function useRouterTestBed(): { fakes: Fakes; use(router: Router): Router } {
  let started: Fakes | undefined;
  let current: Router | undefined;
  const ready = (): Fakes => {
    if (!started) throw new Error('the fakes start in beforeAll: use them inside tests');
    return started;
  };
  beforeAll(async () => {
    started = await startFakes();
  });
  afterAll(() => started?.close());
  afterEach(async () => {
    await current?.close();
    current = undefined;
    started?.reset();
  });
  const fakes: Fakes = {
    get cloud() {
      return ready().cloud;
    },
    get ollama() {
      return ready().ollama;
    },
    close: () => ready().close(),
    reset: () => ready().reset(),
  };
  return {
    fakes,
    use: (router) => {
      current = router;
      return router;
    },
  };
}

/** A fake MiniMax (requiring `cloudKey`) and a fake Ollama with a tool model and a small model without tools. */
async function startFakes(): Promise<Fakes> {
  const cloud = await FakeOpenAI.start({ apiKey: cloudKey, models: ['MiniMax-M2', 'gpt-4o-mini'] });
  const ollama = await FakeOllama.start({
    models: [{ name: 'qwen2.5-coder:7b' }, { name: 'llama3.2:1b', capabilities: ['completion'], contextLength: 2048 }],
  });
  return {
    cloud,
    ollama,
    close: async () => {
      await Promise.all([cloud.close(), ollama.close()]);
    },
    reset: () => {
      cloud.reset();
      ollama.reset();
    },
  };
}

type Raw = Record<string, unknown>;

/** Overrides merged into the fake config, section by section (`{ router: { retries: { max_retries: 2 } } }`). */
export type ConfigPatch = Record<string, Record<string, unknown>>;

function merge(base: Raw, patch: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? merge(current as Raw, value as Raw)
        : value;
  }
  return out;
}

/**
 * The seed's layout pointed at the fakes: cloud MiniMax-M2 first, then qwen2.5-coder:7b on Ollama, fallback
 * llama3.2:1b. Retries are off and delays tiny unless `patch` changes them, so that each fault shows its fallback.
 */
export function fakeConfig(fakes: Fakes, patch: ConfigPatch = {}): UnityConfig {
  const raw: Raw = {
    cloud_llm: {
      enabled: true,
      provider: 'minimax',
      model: 'MiniMax-M2',
      fallback_to_local: true,
      timeout_seconds: 20,
      base_url: fakes.cloud.baseURL,
    },
    models: {
      reasoning: 'ollama_chat/qwen2.5-coder:7b',
      coding: 'ollama_chat/qwen2.5-coder:7b',
      fallback: 'ollama_chat/llama3.2:1b',
    },
    ollama: { host: fakes.ollama.host },
    router: {
      local_timeout_seconds: 20,
      first_token_timeout_seconds: 20,
      retries: { max_retries: 0, initial_delay_ms: 1, max_delay_ms: 5, retry_after_cap_seconds: 5 },
      breaker: { failure_threshold: 100, cooldown_seconds: 30 },
    },
  };
  return parseConfig(stringify(merge(raw, patch)), 'test.yaml');
}

/** Ollama first, then an OpenAI-compatible fallback on the fake cloud: for faults on the Ollama protocol. */
export function ollamaFirstConfig(fakes: Fakes, patch: ConfigPatch = {}): UnityConfig {
  return fakeConfig(
    fakes,
    merge(
      {
        cloud_llm: { enabled: false, provider: 'openai', base_url: fakes.cloud.baseURL },
        models: { fallback: 'openai/gpt-4o-mini' },
      },
      patch,
    ) as ConfigPatch,
  );
}

export function routerFor(config: UnityConfig, options: Partial<RouterOptions> = {}): Router {
  return createRouter({ config, env: { MINIMAX_API_KEY: cloudKey, OPENAI_API_KEY: cloudKey }, ...options });
}

/** Every event of a stream, and the error it threw if it threw. */
export async function collect(stream: AsyncIterable<RouterStreamEvent>): Promise<{
  events: RouterStreamEvent[];
  text: string;
  thrown?: unknown;
}> {
  const events: RouterStreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (thrown) {
    return { events, text: textOf(events), thrown };
  }
  return { events, text: textOf(events) };
}

function textOf(events: RouterStreamEvent[]): string {
  return events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');
}

export const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
