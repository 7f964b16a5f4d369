import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ToolDefinition } from '@unity/core';
import { canStartRedisServer, FakeOllama, FakeOpenAI, freePort, nomicEmbedModel, OwnRedis } from '@unity/test-kit';
import sqlite from 'node-sqlite3-wasm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../config';
import { ConfigError } from '../errors';
import { createRouter, type Router, type RouterOptions } from '../router';
import type { RouterEventMap } from '../router-events';
import type { RouterRequest, RouterResponse } from '../router-types';
import type { SharedResponseCache } from '../shared-state';
import { exactKey, semanticQuery } from './cache-identity';
import { MemoryCacheStore } from './cache-store';
import { RouterCache, type RouterCacheStats } from './router-cache';
import { unitVector } from './vector-index';

const key = 'sk-cache-test-0123456789abcdef';
const redisServerInstalled = canStartRedisServer();
let cloud: FakeOpenAI;
let ollama: FakeOllama;
let dir: string;
const routers: Router[] = [];

beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: key });
  ollama = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, nomicEmbedModel] });
});
afterAll(async () => {
  await Promise.all([cloud.close(), ollama.close()]);
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-router-cache-'));
});
afterEach(async () => {
  await Promise.all(routers.splice(0).map((r) => r.close()));
  cloud.reset();
  ollama.reset();
  await rm(dir, { recursive: true, force: true });
});

/** The cloud (fake OpenAI, gpt-4o-mini) first, then Ollama; embeddings by Ollama's nomic-embed-text. */
function router(cache: Record<string, unknown>, options: Partial<RouterOptions> & { embedding?: string[] } = {}) {
  const { embedding = ['ollama/nomic-embed-text'], ...rest } = options;
  const config = parseConfig(
    stringify({
      cloud_llm: { provider: 'openai', model: 'gpt-4o-mini', base_url: cloud.baseURL, timeout_seconds: 20 },
      models: {
        reasoning: 'ollama_chat/qwen2.5-coder:7b',
        coding: 'ollama_chat/qwen2.5-coder:7b',
        fallback: 'ollama_chat/qwen2.5-coder:7b',
        embedding,
      },
      ollama: { host: ollama.host },
      router: { retries: { max_retries: 0 }, cache: { enabled: true, ...cache } },
    }),
    'test.yaml',
  );
  const r = createRouter({ config, env: { OPENAI_API_KEY: key }, cwd: dir, ...rest });
  routers.push(r);
  return r;
}

type Lookup = RouterEventMap['cache-lookup'][0];
type CacheErrorEvent = RouterEventMap['cache-error'][0];

function record(r: Router) {
  const lookups: Lookup[] = [];
  const errors: CacheErrorEvent[] = [];
  r.on('cache-lookup', (e) => lookups.push(e));
  r.on('cache-error', (e) => errors.push(e));
  return { lookups, errors };
}

const ask = (content: string, extra: Partial<RouterRequest> = {}): RouterRequest => ({
  messages: [
    { role: 'system', content: 'Answer in one sentence.' },
    { role: 'user', content },
  ],
  temperature: 0,
  ...extra,
});
const chats = () => cloud.requestsTo('/chat/completions').length;
const answers = (...texts: string[]) => cloud.enqueue(...texts.map((text) => ({ text })));
const statsOf = (r: Router) => (r as unknown as { cache: { stats(): RouterCacheStats } }).cache.stats();

describe('exact layer', () => {
  it('answers an equal request from memory, counting hits and misses in stats() and cache-lookup events', async () => {
    const r = router({});
    const { lookups } = record(r);
    answers('Paris.');
    await r.chat(ask('What is the capital of France?'));
    const second = await r.chat(ask('What is the capital of France?'));
    expect(second).toMatchObject({ content: 'Paris.', cached: true, attempts: [] });
    expect(chats()).toBe(1);
    expect(lookups.map(({ hit, layer, semantic }) => ({ hit, layer, semantic }))).toEqual([
      { hit: false, layer: undefined, semantic: false },
      { hit: true, layer: 'exact', semantic: false },
    ]);
    expect(lookups[1]?.requestId).toBeGreaterThan(lookups[0]?.requestId ?? Number.POSITIVE_INFINITY);
    expect(statsOf(r)).toMatchObject({ store: 'memory', exact: { hits: 1, misses: 1 }, stored: 1, errors: 0 });
  });

  it('expires an answer after ttl_seconds on the router’s clock', async () => {
    let now = 1_000_000;
    const r = router({ ttl_seconds: 60 }, { now: () => now });
    await r.chat(ask('q'));
    now += 59_999;
    expect((await r.chat(ask('q'))).cached).toBe(true);
    now += 2;
    expect((await r.chat(ask('q'))).cached).toBeUndefined();
    expect(chats()).toBe(2);
  });

  it('keeps answers in a SQLite file under the router’s folder, across a restart', async () => {
    const first = router({ store: 'sqlite' });
    answers('Paris.');
    await first.chat(ask('What is the capital of France?'));
    await first.close();
    expect(existsSync(join(dir, '.unity', 'router-cache.sqlite'))).toBe(true);
    const second = router({ store: 'sqlite' });
    const again = await second.chat(ask('What is the capital of France?'));
    expect(again).toMatchObject({ content: 'Paris.', cached: true });
    expect(chats()).toBe(1);
  });

  it('does not read the cache for cache: "refresh" but keeps its answer; cache: false neither reads nor writes', async () => {
    const r = router({});
    answers('old', 'new', 'unkept');
    await r.chat(ask('q'));
    expect((await r.chat(ask('q', { cache: 'refresh' }))).content).toBe('new');
    expect((await r.chat(ask('q'))).content).toBe('new');
    expect((await r.chat(ask('q', { cache: false }))).content).toBe('unkept');
    expect(await r.chat(ask('q'))).toMatchObject({ content: 'new', cached: true });
    expect(statsOf(r).bypassed).toBe(2);
  });

  it('reads a corrupt SQLite entry as a miss with one cache-error event, and stores the new answer over it', async () => {
    const r = router({ store: 'sqlite' });
    const { errors } = record(r);
    answers('Paris.', 'Paris!');
    await r.chat(ask('What is the capital of France?'));
    const file = new sqlite.Database(join(dir, '.unity', 'router-cache.sqlite'));
    try {
      file.run(`UPDATE entries SET value = '{"content":["not","text"]}'`);
    } finally {
      file.close();
    }
    const again = await r.chat(ask('What is the capital of France?'));
    expect(again).toMatchObject({ content: 'Paris!' });
    expect(again.cached).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ store: 'sqlite', operation: 'get', error: { code: 'ENTRY_INVALID' } });
    expect(await r.chat(ask('What is the capital of France?'))).toMatchObject({ content: 'Paris!', cached: true });
    expect(errors).toHaveLength(1);
  });

  it('answers while another process holds the SQLite lock, without the cache and with one cache-error event', async () => {
    const r = router({ store: 'sqlite' });
    const { errors } = record(r);
    await r.chat(ask('warm up'));
    mkdirSync(join(dir, '.unity'), { recursive: true });
    const other = new sqlite.Database(join(dir, '.unity', 'router-cache.sqlite'));
    try {
      other.exec('BEGIN IMMEDIATE');
      for (const q of ['warm up', 'one', 'two']) expect((await r.chat(ask(q))).cached).toBeUndefined();
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ store: 'sqlite', error: { code: 'STORE_UNAVAILABLE' } });
  });

  it('keys a request object anew for each call, so that one changed between calls is not served the old answer', async () => {
    const r = router({});
    answers('first', 'second');
    const request = ask('q');
    await r.chat(request);
    request.messages.push({ role: 'assistant', content: 'first' }, { role: 'user', content: 'and then?' });
    expect((await r.chat(request)).content).toBe('second');
  });

  it('refuses store: redis without a redis_url, saying what to set', () => {
    const error = (() => {
      try {
        router({ store: 'redis' });
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ fix: expect.stringContaining('router.cache.redis_url') });
  });

  it('refuses a redis_url that is not a Redis URL, and a threshold outside (0, 1], naming the field', () => {
    const parse = (cache: Record<string, unknown>) => () =>
      parseConfig(stringify({ router: { cache: { enabled: true, ...cache } } }), 'bad.yaml');
    expect(parse({ store: 'redis', redis_url: 'http://127.0.0.1:6379' })).toThrow(/router\.cache\.redis_url/);
    expect(parse({ semantic: { enabled: true, threshold: 1.5 } })).toThrow(/router\.cache\.semantic\.threshold/);
    expect(parse({ semantic: { enabled: true, threshold: 0 } })).toThrow(/router\.cache\.semantic\.threshold/);
    expect(parse({ store: 'disk' })).toThrow(/router\.cache\.store/);
  });

  it("uses the gateway's shared store, not a connection of its own, when it is given one", async () => {
    const entries = new Map<string, RouterResponse>();
    const shared: SharedResponseCache = {
      get: async (k) => entries.get(k),
      set: async (k, v) => void entries.set(k, v),
    };
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const r = router({ store: 'redis', redis_url: nobody }, { shared: { cache: shared } });
    const { errors } = record(r);
    await r.chat(ask('q'));
    expect((await r.chat(ask('q'))).cached).toBe(true);
    expect(entries.size).toBe(1);
    expect(errors).toEqual([]);
    expect(statsOf(r).store).toBe('shared');
  });
});

describe.skipIf(!redisServerInstalled)('exact layer in Redis', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await OwnRedis.start();
  });
  afterAll(() => redis?.stop());

  it('shares answers between routers on the same Redis, under their key prefix', async () => {
    const settings = { store: 'redis', redis_url: redis.url, redis_key_prefix: 'share-test:' };
    const a = router(settings);
    const b = router(settings);
    answers('Paris.');
    await a.chat(ask('What is the capital of France?'));
    // The write lands after the answer: wait for it as a second request would.
    await a.close();
    expect(await b.chat(ask('What is the capital of France?'))).toMatchObject({ content: 'Paris.', cached: true });
    expect(chats()).toBe(1);
  });

  it('answers every request while Redis is down, with one cache-error event for the outage', async () => {
    const r = router({ store: 'redis', redis_url: redis.url, redis_key_prefix: 'outage-test:' });
    const { errors } = record(r);
    await r.chat(ask('warm up'));
    await redis.stop();
    try {
      for (const q of ['one', 'two', 'three']) expect((await r.chat(ask(q))).content).toBe(`echo: ${q}`);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ store: 'redis', error: { code: 'STORE_UNAVAILABLE' } });
      expect(statsOf(r).errors).toBeGreaterThanOrEqual(3);
    } finally {
      await redis.resume();
    }
  });
});

describe('semantic layer', () => {
  const semantic = (threshold: number, extra: Record<string, unknown> = {}) => ({
    semantic: { enabled: true, threshold },
    ...extra,
  });

  it('serves the answer of a request whose last message means the same, at or above the threshold', async () => {
    const r = router(semantic(0.8));
    const { lookups } = record(r);
    answers('Paris.');
    await r.chat(ask('What is the capital of France?'));
    const hit = await r.chat(ask('what is the capital city of France'));
    expect(hit).toMatchObject({ content: 'Paris.', cached: true });
    expect(chats()).toBe(1);
    const last = lookups.at(-1);
    expect(last).toMatchObject({ hit: true, layer: 'semantic', semantic: true });
    expect(last?.similarity).toBeGreaterThanOrEqual(0.8);
    expect(last?.similarity).toBeLessThan(1);
    expect(statsOf(r).semantic).toEqual({ hits: 1, misses: 1, skipped: 0 });
  });

  it('misses below the threshold, reporting the best similarity it found', async () => {
    const r = router(semantic(0.95));
    const { lookups } = record(r);
    await r.chat(ask('What is the capital of France?'));
    const miss = await r.chat(ask('what is the capital city of France'));
    expect(miss.cached).toBeUndefined();
    expect(chats()).toBe(2);
    expect(lookups.at(-1)).toMatchObject({ hit: false, semantic: true, similarity: expect.any(Number) });
    expect(lookups.at(-1)?.similarity).toBeLessThan(0.95);
  });

  it('keeps the vectors in the SQLite file: a paraphrase hits after a restart', async () => {
    const first = router(semantic(0.8, { store: 'sqlite' }));
    answers('Paris.');
    await first.chat(ask('What is the capital of France?'));
    await first.close();
    const second = router(semantic(0.8, { store: 'sqlite' }));
    expect(await second.chat(ask('what is the capital city of France'))).toMatchObject({
      content: 'Paris.',
      cached: true,
    });
  });

  it('embeds a local-only request with a local model only, never the cloud embedding model first in the chain', async () => {
    const r = router(semantic(0.8), { embedding: ['openai/text-embedding-3-small', 'ollama/nomic-embed-text'] });
    await r.chat(ask('private question', { localOnly: true }));
    expect(cloud.requestsTo('/embeddings')).toHaveLength(0);
    expect(ollama.requestsTo('/api/embed').length).toBeGreaterThan(0);
  });

  it('answers when the embedding chain fails, with one cache-error event for the outage', async () => {
    const r = router(semantic(0.8), { embedding: ['ollama/missing-embedder'] });
    const { errors } = record(r);
    for (const q of ['one', 'two']) expect((await r.chat(ask(q))).content).toBe(`echo: ${q}`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ store: 'embedding', error: { code: 'EMBEDDING_FAILED' } });
    expect(statsOf(r).semantic.skipped).toBe(2);
  });
});

describe('semantic layer over stale vectors', () => {
  it('passes over vectors whose answers are gone and serves the next best match', async () => {
    const config = parseConfig(
      stringify({ router: { cache: { enabled: true, semantic: { enabled: true, threshold: 0.5 } } } }),
      'test.yaml',
    );
    const limits = { maxEntries: 100, maxVectors: 100, ttlMs: 60_000, now: Date.now };
    const store = new MemoryCacheStore(limits);
    const embed = async () => ({
      embeddings: [[1, 0]],
      model: 'e',
      provider: 'fake',
      usage: { inputTokens: 0 },
      attempts: [],
    });
    const cache = new RouterCache({ config, embed, store });
    const context = { role: 'reasoning' as const, localOnly: false };
    const stored = ask('What is the capital of France?');
    const { scope } = semanticQuery(stored, context)!;
    const key = exactKey(stored, context);
    store.set(key, {
      content: 'Paris.',
      toolCalls: [],
      usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      finishReason: 'stop',
      model: 'm',
      provider: 'p',
      attempts: [],
    });
    store.addVector({ key, scope, model: 'e', vector: unitVector([0.9, 0.1]) });
    // Closer matches whose answers were evicted.
    for (const stale of ['s1', 's2', 's3', 's4'])
      store.addVector({ key: stale, scope, model: 'e', vector: unitVector([1, 0]) });
    const hit = await cache.lookup(ask('Which city is the capital of France?'), context);
    expect(hit?.content).toBe('Paris.');
    await cache.close();
  });
});

describe('attacks on the cache', () => {
  const readFile: ToolDefinition = {
    name: 'read_file',
    description: 'Read a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } } },
  };

  it("never serves tenant A's answer to tenant B or to an unscoped request, exact or semantic", async () => {
    // A threshold so low that any stored request would match, but for its scope.
    const r = router({ semantic: { enabled: true, threshold: 0.01 } });
    answers("A's secret plan", 'B1', 'C1', 'anonymous');
    await r.chat(ask('What is our plan?', { cacheScope: 'key-a' }));
    const paraphrase = await r.chat(ask('Tell me our plan', { cacheScope: 'key-b' }));
    const exact = await r.chat(ask('What is our plan?', { cacheScope: 'key-c' }));
    const unscoped = await r.chat(ask('What is our plan?'));
    expect([paraphrase.content, exact.content, unscoped.content]).toEqual(['B1', 'C1', 'anonymous']);
    expect([paraphrase, exact, unscoped].every((x) => x.cached === undefined)).toBe(true);
    // Within one tenant the same requests do hit: the scope alone kept them apart.
    expect(await r.chat(ask('Tell me our plan', { cacheScope: 'key-a' }))).toMatchObject({
      content: "A's secret plan",
      cached: true,
    });
    expect(await r.chat(ask('What is our plan?', { cacheScope: 'key-b' }))).toMatchObject({
      content: 'B1',
      cached: true,
    });
  });

  it('never hits across another system prompt, other tools or another temperature, even when the text is equal', async () => {
    const r = router({ semantic: { enabled: true, threshold: 0.01 } });
    const question = 'What is the capital of France?';
    await r.chat(ask(question));
    const variants: RouterRequest[] = [
      { ...ask(question), messages: [{ role: 'system', content: 'Answer in French.' }, ask(question).messages[1]!] },
      ask(question, { tools: [readFile] }),
      ask(question, { temperature: 0.7 }),
      ask(question, { topP: 0.5 }),
      ask(question, { model: 'ollama_chat/qwen2.5-coder:7b' }),
    ];
    for (const variant of variants) expect((await r.chat(variant)).cached).toBeUndefined();
    expect(chats() + ollama.requestsTo('/api/chat').length).toBe(1 + variants.length);
  });

  it('never serves the answer about other numbers', async () => {
    const r = router({ semantic: { enabled: true, threshold: 0.01 } });
    answers('4', '5');
    await r.chat(ask('What is 2 + 2?'));
    expect((await r.chat(ask('What is 2 + 3?'))).content).toBe('5');
  });
});
