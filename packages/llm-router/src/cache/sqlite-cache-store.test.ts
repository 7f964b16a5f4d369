import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';
import { resolveCachePath, SqliteCacheStore, type SqliteCacheStoreOptions } from './sqlite-cache-store';
import { unitVector } from './vector-index';

let dir: string;
const stores: SqliteCacheStore[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-cache-sqlite-'));
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function open(options: Partial<SqliteCacheStoreOptions> = {}): SqliteCacheStore {
  const store = new SqliteCacheStore({
    file: join(dir, 'cache', 'router-cache.sqlite'),
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

const answer = (content: string): RouterResponse => ({
  content,
  toolCalls: [],
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  finishReason: 'stop',
  model: 'm',
  provider: 'p',
  attempts: [],
});

describe('SqliteCacheStore', () => {
  it('returns what was stored, from a file that outlasts the store (another process, a restart)', async () => {
    const first = open();
    await first.set('k', answer('A'));
    expect(await first.get('k')).toEqual(answer('A'));
    expect(await first.get('other')).toBeUndefined();
    await first.close();
    expect(await open().get('k')).toEqual(answer('A'));
  });

  it('forgets entries once their TTL has passed (on the injected clock)', async () => {
    const time = clock();
    const store = open({ now: time.now, ttlMs: 1_000 });
    await store.set('k', answer('A'));
    time.advance(999);
    expect(await store.get('k')).toEqual(answer('A'));
    time.advance(1);
    expect(await store.get('k')).toBeUndefined();
  });

  it('keeps at most max_entries, evicting the least recently used', async () => {
    const time = clock();
    const store = open({ now: time.now, maxEntries: 2 });
    await store.set('a', answer('A'));
    time.advance(1);
    await store.set('b', answer('B'));
    time.advance(1);
    await store.get('a'); // a is now more recently used than b
    time.advance(1);
    await store.set('c', answer('C'));
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toEqual(answer('A'));
    expect(await store.get('c')).toEqual(answer('C'));
  });

  it('keeps at most max_bytes of answers, evicting the least recently used', async () => {
    const time = clock();
    const size = Buffer.byteLength(JSON.stringify(answer('x'.repeat(100))));
    const store = open({ now: time.now, maxBytes: size * 2 });
    for (const key of ['a', 'b', 'c']) {
      await store.set(key, answer(key.repeat(100)));
      time.advance(1);
    }
    expect(await store.get('a')).toBeUndefined();
    expect((await store.get('b'))?.content).toBe('b'.repeat(100));
    expect((await store.get('c'))?.content).toBe('c'.repeat(100));
  });

  it('drops the vectors of the answers it evicts', async () => {
    const time = clock();
    const store = open({ now: time.now, maxEntries: 1 });
    await store.set('a', answer('A'));
    await store.addVector({ key: 'a', scope: 's', model: 'm', vector: unitVector([1, 0]) });
    time.advance(1);
    await store.set('b', answer('B'));
    expect(await store.vectors('s', 'm')).toEqual([]);
  });

  it('persists the semantic vectors by scope and model, bounded (the oldest go first)', async () => {
    const time = clock();
    const store = open({ now: time.now, maxVectors: 2, maxEntries: 10 });
    const vector = unitVector([1, 2, 3]);
    await store.addVector({ key: 'a', scope: 's', model: 'm', vector });
    time.advance(1);
    await store.addVector({ key: 'b', scope: 's', model: 'other', vector });
    time.advance(1);
    await store.addVector({ key: 'c', scope: 's', model: 'm', vector });
    const found = await store.vectors('s', 'm');
    expect(found.map((v) => v.key)).toEqual(['c']);
    expect([...(found[0]?.vector ?? [])]).toEqual([...vector]);
    await store.close();
    expect((await open({ now: time.now }).vectors('s', 'other')).map((v) => v.key)).toEqual(['b']);
  });

  it('says which package to install when node-sqlite3-wasm is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'node-sqlite3-wasm' imported from x"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const store = open({ load: () => Promise.reject(missing) });
    const error = await store.get('k').catch((e: unknown) => e);
    expect(CacheError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'NOT_INSTALLED',
      message: expect.stringContaining('needs the node-sqlite3-wasm package'),
      fix: expect.stringContaining('npm install node-sqlite3-wasm@^0.8.60'),
    });
  });

  it('fails with STORE_UNAVAILABLE, naming the file, when the file cannot be created', async () => {
    await writeFile(join(dir, 'not-a-folder'), 'x');
    const file = join(dir, 'not-a-folder', 'cache.sqlite');
    const error = await open({ file })
      .set('k', answer('A'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining(file) });
  });
});

describe('resolveCachePath', () => {
  it('resolves against the working folder and expands ~/', () => {
    expect(resolveCachePath('.unity/c.sqlite', '/srv/app', '/home/u')).toBe('/srv/app/.unity/c.sqlite');
    expect(resolveCachePath('/var/c.sqlite', '/srv/app', '/home/u')).toBe('/var/c.sqlite');
    expect(resolveCachePath('~/c.sqlite', '/srv/app', '/home/u')).toBe('/home/u/c.sqlite');
  });
});
