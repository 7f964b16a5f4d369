import { setTimeout as sleep } from 'node:timers/promises';
import { canStartRedisServer, OwnRedis } from '@unity/test-kit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';
import { RedisCacheStore, type RedisCacheStoreOptions, redisAddress } from './redis-cache-store';
import { unitVector } from './vector-index';

const redisServerInstalled = canStartRedisServer();
if (!redisServerInstalled) console.warn('skipping the Redis cache store tests: redis-server is not installed');

const answer = (content: string): RouterResponse => ({
  content,
  toolCalls: [],
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  finishReason: 'stop',
  model: 'm',
  provider: 'p',
  attempts: [],
});

describe.skipIf(!redisServerInstalled)('RedisCacheStore', () => {
  let redis: OwnRedis;
  const stores: RedisCacheStore[] = [];
  let counter = 0;
  beforeAll(async () => {
    redis = await OwnRedis.start();
  });
  afterAll(() => redis?.stop());
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await redis.resume();
  });

  function open(options: Partial<RedisCacheStoreOptions> = {}): RedisCacheStore {
    const store = new RedisCacheStore({
      url: redis.url,
      keyPrefix: `test-${counter++}:`,
      maxEntries: 100,
      maxVectors: 100,
      ttlMs: 60_000,
      timeoutMs: 250,
      now: Date.now,
      ...options,
    });
    stores.push(store);
    return store;
  }

  it('returns what another store on the same Redis and prefix stored, and nothing under another prefix', async () => {
    const a = open({ keyPrefix: 'shared:' });
    const b = open({ keyPrefix: 'shared:' });
    await a.set('k', answer('A'));
    expect(await b.get('k')).toEqual(answer('A'));
    expect(await b.get('missing')).toBeUndefined();
    expect(await open({ keyPrefix: 'elsewhere:' }).get('k')).toBeUndefined();
  });

  it('forgets an entry after its TTL (Redis expiry)', async () => {
    const store = open({ ttlMs: 50 });
    await store.set('k', answer('A'));
    expect(await store.get('k')).toEqual(answer('A'));
    await sleep(120);
    expect(await store.get('k')).toBeUndefined();
  });

  it('keeps at most max_entries, evicting the oldest', async () => {
    const store = open({ maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) await store.set(key, answer(key));
    expect(await store.get('a')).toBeUndefined();
    expect((await store.get('b'))?.content).toBe('b');
    expect((await store.get('c'))?.content).toBe('c');
  });

  it('keeps vectors by scope and model, at most max_vectors of them', async () => {
    const store = open({ maxVectors: 2 });
    const vector = unitVector([1, 2, 3]);
    // Ages are Redis's milliseconds: one apart each.
    for (const [key, scope, model] of [
      ['a', 's', 'm'],
      ['b', 't', 'm'],
      ['c', 's', 'm'],
      ['d', 's', 'other'],
    ] as const) {
      await store.addVector({ key, scope, model, vector });
      await sleep(3);
    }
    expect((await store.vectors('s', 'm')).map((v) => v.key)).toEqual(['c']);
    expect((await store.vectors('t', 'm')).map((v) => v.key)).toEqual([]);
    const [found] = await store.vectors('s', 'other');
    expect(found?.key).toBe('d');
    expect([...(found?.vector ?? [])]).toEqual([...vector]);
  });

  it('drops the vectors of the answers it evicts, so that no vector outlives its answer', async () => {
    const store = open({ keyPrefix: 'evict:', maxEntries: 1 });
    const vector = unitVector([1, 0]);
    await store.set('a', answer('A'));
    await store.addVector({ key: 'a', scope: 's', model: 'm', vector });
    await store.set('b', answer('B'));
    await store.addVector({ key: 'b', scope: 's', model: 'm', vector });
    expect((await store.vectors('s', 'm')).map((v) => v.key)).toEqual(['b']);
    await store.set('c', answer('C'));
    expect(await store.vectors('s', 'm')).toEqual([]);
    const client = new Redis(redis.url);
    try {
      expect(await client.zcard('evict:{cache}:vectors-index')).toBe(0);
      expect(await client.hlen('evict:{cache}:vector-owners')).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('reads a corrupt or foreign entry as ENTRY_INVALID once, deleting it, then as a miss', async () => {
    const store = open({ keyPrefix: 'corrupt:' });
    const client = new Redis(redis.url);
    try {
      for (const text of ['{not json', JSON.stringify({ ...answer('A'), toolCalls: 'none' })]) {
        await client.set('corrupt:{cache}:entry:k', text);
        const error = await store.get('k').catch((e: unknown) => e);
        expect(CacheError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ code: 'ENTRY_INVALID', fix: expect.any(String) });
        expect(await store.get('k')).toBeUndefined();
      }
      // A vector field that is not one is passed over.
      await store.addVector({ key: 'k', scope: 's', model: 'm', vector: unitVector([1]) });
      await client.hset('corrupt:{cache}:vectors:s', 'junk', '[1,2]');
      expect((await store.vectors('s', 'm')).map((v) => v.key)).toEqual(['k']);
    } finally {
      client.disconnect();
    }
  });

  it('says what to do when used after it was closed', async () => {
    const store = open();
    await store.close();
    const error = await store.get('k').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', fix: expect.stringContaining('close the router') });
  });

  it('fails fast with STORE_UNAVAILABLE while Redis is down, and works again once it is back', async () => {
    const store = open();
    await store.set('k', answer('A'));
    await redis.stop();
    const started = performance.now();
    const error = await store.get('k').catch((e: unknown) => e);
    expect(CacheError.isInstance(error) || error instanceof Error).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);
    await redis.resume();
    const deadline = Date.now() + 5_000;
    let back: RouterResponse | undefined;
    while (Date.now() < deadline) {
      back = await store.get('k').catch(() => undefined);
      if (back === undefined) await store.set('k', answer('B')).catch(() => undefined);
      else break;
      await sleep(50);
    }
    expect(back?.content).toBe('B');
  });

  it('never writes outside its prefix', async () => {
    const store = open({ keyPrefix: 'mine:' });
    await store.set('k', answer('A'));
    await store.addVector({ key: 'k', scope: 's', model: 'm', vector: unitVector([1]) });
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.filter((k) => k.startsWith('mine:'))).toHaveLength(keys.filter((k) => k.includes('mine')).length);
      expect(keys.filter((k) => k.startsWith('mine:')).length).toBeGreaterThanOrEqual(4);
    } finally {
      client.disconnect();
    }
  });
});

describe('RedisCacheStore without ioredis', () => {
  it('says which package to install', async () => {
    const missing = Object.assign(new Error("Cannot find package 'ioredis' imported from x"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const store = new RedisCacheStore({
      url: 'redis://127.0.0.1:1',
      keyPrefix: 'x:',
      maxEntries: 1,
      maxVectors: 1,
      ttlMs: 1_000,
      timeoutMs: 100,
      now: Date.now,
      load: () => Promise.reject(missing),
    });
    const error = await store.get('k').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_INSTALLED', fix: expect.stringContaining('npm install ioredis@^5.11.1') });
    await store.close();
  });

  it('names Redis by host and port, never with its password', () => {
    expect(redisAddress('redis://user:s3cret@cache.internal:6380/2')).toBe('cache.internal:6380');
    expect(redisAddress('redis://127.0.0.1')).toBe('127.0.0.1:6379');
  });
});
