import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
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

const fileOf = () => join(dir, 'cache', 'router-cache.sqlite');

/** The file opened directly, as another process (or an older router) would. */
function raw(file = fileOf()) {
  mkdirSync(dirname(file), { recursive: true });
  return new sqlite.Database(file);
}

function open(options: Partial<SqliteCacheStoreOptions> = {}): SqliteCacheStore {
  const store = new SqliteCacheStore({
    file: fileOf(),
    maxEntries: 100,
    maxVectors: 100,
    ttlMs: 60_000,
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

  it('writes the recency of reads with the next write, or at close, so that a hit writes nothing', async () => {
    const time = clock();
    const first = open({ now: time.now, maxEntries: 2 });
    await first.set('a', answer('A'));
    time.advance(1);
    await first.set('b', answer('B'));
    time.advance(1);
    await first.get('a');
    await first.close();
    const second = open({ now: time.now, maxEntries: 2 });
    time.advance(1);
    await second.set('c', answer('C'));
    expect(await second.get('b')).toBeUndefined();
    expect(await second.get('a')).toEqual(answer('A'));
  });

  it('counts an answer stored again under its key once', async () => {
    const store = open({ maxEntries: 2 });
    for (const content of ['A1', 'A2', 'A3']) await store.set('a', answer(content));
    await store.set('b', answer('B'));
    expect((await store.get('a'))?.content).toBe('A3');
    expect((await store.get('b'))?.content).toBe('B');
  });

  it('treats a read or write while another process holds the lock as a miss or a dropped write, at once', async () => {
    const store = open();
    await store.set('k', answer('A'));
    const other = raw();
    try {
      other.exec('BEGIN IMMEDIATE');
      const read = await store.get('k').catch((e: unknown) => e);
      expect(read).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringContaining('locked by another process'),
      });
      expect(CacheError.isInstance(read) && read.fix).toBeTruthy();
      const write = await store.set('k', answer('B')).catch((e: unknown) => e);
      expect(write).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('write is dropped') });
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    expect(await store.get('k')).toEqual(answer('A'));
  });

  it('reads a corrupt or foreign entry as ENTRY_INVALID once, then as a miss', async () => {
    const store = open();
    await store.set('bad-json', answer('A'));
    await store.set('wrong-shape', answer('B'));
    const other = raw();
    try {
      other.run("UPDATE entries SET value = '{not json' WHERE key = 'bad-json'");
      other.run(`UPDATE entries SET value = '{"content":42,"toolCalls":[]}' WHERE key = 'wrong-shape'`);
    } finally {
      other.close();
    }
    for (const key of ['bad-json', 'wrong-shape']) {
      const error = await store.get(key).catch((e: unknown) => e);
      expect(CacheError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'ENTRY_INVALID', message: expect.stringContaining(key) });
      expect(await store.get(key)).toBeUndefined();
    }
  });

  it('migrates a file written before the schema was versioned, keeping its answers and bounding them', async () => {
    const old = raw();
    try {
      old.exec(`
        CREATE TABLE entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, bytes INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL);
        CREATE INDEX entries_used ON entries (used_at);
        CREATE TABLE vectors (scope TEXT NOT NULL, key TEXT NOT NULL, model TEXT NOT NULL, vector BLOB NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (scope, key));
        CREATE INDEX vectors_expiry ON vectors (expires_at);`);
      const expires = Date.now() + 60_000;
      for (const [i, key] of ['a', 'b', 'c'].entries()) {
        const value = JSON.stringify(answer(key));
        old.run('INSERT INTO entries VALUES (?, ?, ?, ?, ?)', [key, value, value.length, expires, i]);
      }
    } finally {
      old.close();
    }
    const store = open({ maxEntries: 3 });
    expect(await store.get('a')).toEqual(answer('a'));
    await store.set('d', answer('d'));
    expect(await store.get('b')).toBeUndefined();
    expect((await store.get('c'))?.content).toBe('c');
    await store.close();
    const check = raw();
    try {
      expect(check.get('PRAGMA user_version')).toEqual({ user_version: 1 });
      expect(check.get("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'vectors_key'")).toBeTruthy();
      expect(check.get("SELECT count FROM totals WHERE name = 'entries'")).toEqual({ count: 3 });
    } finally {
      check.close();
    }
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
