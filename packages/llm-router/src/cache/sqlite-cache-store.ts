import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describeError } from '@unity/core';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';
import type { CacheStore, StoreLimits } from './cache-store';
import { loadStorePackage } from './optional-module';
import { type StoredVector, type VectorRecord, vectorBytes, vectorFromBytes } from './vector-index';

type SqliteModule = typeof import('node-sqlite3-wasm');
type Database = InstanceType<SqliteModule['Database']>;
type Row = Record<string, number | bigint | string | Uint8Array | null>;

const schema = `
CREATE TABLE IF NOT EXISTS entries (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, bytes INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used_at);
CREATE TABLE IF NOT EXISTS vectors (
  scope TEXT NOT NULL, key TEXT NOT NULL, model TEXT NOT NULL, vector BLOB NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS vectors_expiry ON vectors (expires_at);`;

/** A lock folder older than this was left by a process killed inside a transaction (they last milliseconds). */
const staleLockMs = 30_000;

export interface SqliteCacheStoreOptions extends StoreLimits {
  /** The database file (absolute). */
  file: string;
  /** Besides `maxEntries`: the most bytes of answers kept. */
  maxBytes?: number;
  /** How long to wait for the lock another process holds before the operation fails. */
  timeoutMs: number;
  /** Loads node-sqlite3-wasm (default `import('node-sqlite3-wasm')`). */
  load?: () => Promise<unknown>;
}

/** `router.cache.path` as an absolute path: `~/` is the home folder, a relative path is from `cwd`. */
export function resolveCachePath(path: string, cwd: string, home = homedir()): string {
  if (path === '~' || path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * Answers and vectors in a SQLite file (node-sqlite3-wasm: SQLite compiled to WebAssembly, no native build), so that
 * they outlast the process and are shared by the processes that use the same file. Bounded by `maxEntries` and
 * `maxBytes` (least recently used first) and the TTL; vectors by `maxVectors` (oldest first). The file is opened on
 * first use; the package is an optional peer dependency.
 */
export class SqliteCacheStore implements CacheStore {
  readonly kind = 'sqlite';
  private opening: Promise<Database> | undefined;
  private db: Database | undefined;
  private closed = false;

  constructor(private readonly options: SqliteCacheStoreOptions) {}

  async get(key: string): Promise<RouterResponse | undefined> {
    const db = await this.open();
    const now = this.options.now();
    const row = this.read(() => db.get('SELECT value, expires_at FROM entries WHERE key = ?', [key]) as Row | null);
    if (!row || Number(row.expires_at) <= now) return undefined;
    // Least recently used: a read is a use. Skipped, not failed, when another process holds the lock.
    this.tryWrite(() => db.run('UPDATE entries SET used_at = ? WHERE key = ?', [now, key]));
    return JSON.parse(String(row.value)) as RouterResponse;
  }

  async set(key: string, response: RouterResponse): Promise<void> {
    const db = await this.open();
    const value = JSON.stringify(response);
    const now = this.options.now();
    this.write(() => {
      db.run('INSERT OR REPLACE INTO entries (key, value, bytes, expires_at, used_at) VALUES (?, ?, ?, ?, ?)', [
        key,
        value,
        Buffer.byteLength(value),
        now + this.options.ttlMs,
        now,
      ]);
      this.evictEntries(db, now);
    });
  }

  async vectors(scope: string, model: string): Promise<StoredVector[]> {
    const db = await this.open();
    const rows = this.read(
      () =>
        db.all('SELECT key, vector FROM vectors WHERE scope = ? AND model = ? AND expires_at > ?', [
          scope,
          model,
          this.options.now(),
        ]) as Row[],
    );
    return rows.map((row) => ({ key: String(row.key), vector: vectorFromBytes(row.vector as Uint8Array) }));
  }

  async addVector(record: VectorRecord): Promise<void> {
    const db = await this.open();
    const now = this.options.now();
    this.write(() => {
      db.run('INSERT OR REPLACE INTO vectors (scope, key, model, vector, expires_at) VALUES (?, ?, ?, ?, ?)', [
        record.scope,
        record.key,
        record.model,
        vectorBytes(record.vector),
        now + this.options.ttlMs,
      ]);
      db.run('DELETE FROM vectors WHERE expires_at <= ?', [now]);
      const over = Number((db.get('SELECT COUNT(*) AS n FROM vectors') as Row).n) - this.options.maxVectors;
      if (over > 0) {
        db.run('DELETE FROM vectors WHERE rowid IN (SELECT rowid FROM vectors ORDER BY expires_at, rowid LIMIT ?)', [
          over,
        ]);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (!opening) return;
    await opening.catch(() => undefined);
    if (this.db?.isOpen) this.db.close();
  }

  /** Drop expired answers, then the least recently used beyond `maxEntries` and `maxBytes`, with their vectors. */
  private evictEntries(db: Database, now: number): void {
    db.run('DELETE FROM entries WHERE expires_at <= ?', [now]);
    const totals = db.get('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM entries') as Row;
    let count = Number(totals.n);
    let bytes = Number(totals.bytes);
    const { maxEntries, maxBytes } = this.options;
    if (count <= maxEntries && (maxBytes === undefined || bytes <= maxBytes)) return;
    const victims: string[] = [];
    for (const row of db.all('SELECT key, bytes FROM entries ORDER BY used_at, rowid') as Row[]) {
      if (count <= maxEntries && (maxBytes === undefined || bytes <= maxBytes)) break;
      victims.push(String(row.key));
      count -= 1;
      bytes -= Number(row.bytes);
    }
    for (const key of victims) {
      db.run('DELETE FROM entries WHERE key = ?', [key]);
      db.run('DELETE FROM vectors WHERE key = ?', [key]);
    }
  }

  private open(): Promise<Database> {
    this.opening ??= (async () => {
      const loaded = (await loadStorePackage('sqlite', this.options.load ?? (() => import('node-sqlite3-wasm')))) as
        | SqliteModule
        | { default: SqliteModule };
      // A CommonJS module: Node's ESM loader may give its exports as the default export only.
      const { Database } = 'default' in loaded && loaded.default ? loaded.default : (loaded as SqliteModule);
      if (this.closed) throw unavailable(this.options.file, 'the cache is closed');
      const file = this.options.file;
      try {
        mkdirSync(dirname(file), { recursive: true });
        removeStaleLock(file);
        const db = new Database(file);
        this.db = db;
        this.write(() => db.exec(schema));
        return db;
      } catch (cause) {
        throw unavailable(file, describeError(cause), cause);
      }
    })();
    return this.opening;
  }

  /** Run `fn` in one transaction, waiting up to `timeoutMs` while another process holds the lock. */
  private write<T>(fn: () => T): T {
    const db = this.db!;
    this.busyWait(() => db.exec('BEGIN IMMEDIATE'));
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  private tryWrite(fn: () => void): void {
    try {
      this.write(fn);
    } catch {
      // Only the recency of one entry is lost.
    }
  }

  private read<T>(fn: () => T): T {
    return this.busyWait(fn);
  }

  private busyWait<T>(fn: () => T): T {
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      try {
        return fn();
      } catch (error) {
        if (!/busy|locked/i.test(String((error as Error)?.message)) || Date.now() > deadline) {
          throw unavailable(this.options.file, describeError(error), error);
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  }
}

function unavailable(file: string, why: string, cause?: unknown): CacheError {
  return new CacheError({
    code: 'STORE_UNAVAILABLE',
    message: `the response cache's SQLite file ${file} cannot be used: ${why}`,
    fix: 'check that its folder is writable (router.cache.path), or raise router.cache.timeout_ms if another process holds it',
    ...(cause === undefined ? {} : { cause }),
  });
}

function removeStaleLock(file: string): void {
  const lock = `${file}.lock`;
  try {
    if (Date.now() - statSync(lock).mtimeMs > staleLockMs) rmdirSync(lock);
  } catch {
    // No lock folder: nothing to do.
  }
}
