import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describeError } from '@unity/core';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';
import type { CacheStore, StoreLimits } from './cache-store';
import { readCachedResponse } from './cached-response';
import { loadStorePackage } from './optional-module';
import { sqliteMigration, sqliteSchemaVersion } from './sqlite-schema';
import { SqliteStatements } from './sqlite-statements';
import { type StoredVector, type VectorRecord, vectorBytes, vectorFromBytes } from './vector-index';

type SqliteModule = typeof import('node-sqlite3-wasm');
type Database = InstanceType<SqliteModule['Database']>;

/** A lock folder older than this was left by a process killed inside a transaction (they last milliseconds). */
const staleLockMs = 30_000;

/** Reads whose recency waits for the next write; past this many, a read writes them itself. */
const recencyBatch = 256;

const sql = {
  entry: 'SELECT value, expires_at FROM entries WHERE key = ? LIMIT 1',
  upsertEntry:
    'INSERT INTO entries (key, value, bytes, expires_at, used_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE ' +
    'SET value = excluded.value, bytes = excluded.bytes, expires_at = excluded.expires_at, used_at = excluded.used_at',
  touch: 'UPDATE entries SET used_at = ? WHERE key = ? AND used_at < ?',
  deleteEntry: 'DELETE FROM entries WHERE key = ?',
  deleteExpiredEntries: 'DELETE FROM entries WHERE expires_at <= ?',
  leastRecentlyUsed: 'SELECT key, bytes FROM entries ORDER BY used_at, rowid LIMIT ?',
  totals: 'SELECT count, bytes FROM totals WHERE name = ? LIMIT 1',
  vectors: 'SELECT key, vector FROM vectors WHERE scope = ? AND model = ? AND expires_at > ?',
  upsertVector:
    'INSERT INTO vectors (scope, key, model, vector, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) ' +
    'DO UPDATE SET model = excluded.model, vector = excluded.vector, expires_at = excluded.expires_at',
  deleteExpiredVectors: 'DELETE FROM vectors WHERE expires_at <= ?',
  deleteOldestVectors:
    'DELETE FROM vectors WHERE rowid IN (SELECT rowid FROM vectors ORDER BY expires_at, rowid LIMIT ?)',
} as const;

export interface SqliteCacheStoreOptions extends StoreLimits {
  /** The database file (absolute). */
  file: string;
  /** Besides `maxEntries`: the most bytes of answers kept. */
  maxBytes?: number;
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
 * `maxBytes` (least recently used first) and the TTL; vectors by `maxVectors` (oldest first) and dropped with their
 * answers. The file is opened on first use; the package is an optional peer dependency.
 *
 * Everything runs on the caller's thread and never waits: while another process holds the file's lock, a read is a
 * miss and a write is dropped (a CacheError `STORE_UNAVAILABLE`, which the cache reports once). A read's recency is
 * kept in memory and written with the next write, so that a hit writes nothing.
 */
export class SqliteCacheStore implements CacheStore {
  readonly kind = 'sqlite';
  private opening: Promise<SqliteStatements> | undefined;
  private db: Database | undefined;
  private migrated = false;
  private closed = false;
  /** Answers read since the last write, with when: their `used_at`, written by the next write transaction. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly options: SqliteCacheStoreOptions) {}

  async get(key: string): Promise<RouterResponse | undefined> {
    const statements = await this.open();
    const now = this.options.now();
    const [row] = this.locked('read', () => statements.all(sql.entry, [key]));
    if (!row || Number(row.expires_at) <= now) return undefined;
    let response: RouterResponse;
    try {
      response = readCachedResponse(String(row.value), `${key} in ${this.options.file}`);
    } catch (error) {
      // Deleted (unless the lock is held right now), so that it is reported once.
      this.tryWrite(statements, () => statements.run(sql.deleteEntry, [key]));
      throw error;
    }
    this.touched.set(key, now);
    if (this.touched.size >= recencyBatch) this.tryWrite(statements, () => {});
    return response;
  }

  async set(key: string, response: RouterResponse): Promise<void> {
    const statements = await this.open();
    const value = JSON.stringify(response);
    const now = this.options.now();
    this.write(statements, () => {
      statements.run(sql.upsertEntry, [key, value, Buffer.byteLength(value), now + this.options.ttlMs, now]);
      this.evictEntries(statements, now);
    });
  }

  async vectors(scope: string, model: string): Promise<StoredVector[]> {
    const statements = await this.open();
    const rows = this.locked('read', () => statements.all(sql.vectors, [scope, model, this.options.now()]));
    return rows.map((row) => ({ key: String(row.key), vector: vectorFromBytes(row.vector as Uint8Array) }));
  }

  async addVector(record: VectorRecord): Promise<void> {
    const statements = await this.open();
    const now = this.options.now();
    this.write(statements, () => {
      const { scope, key, model, vector } = record;
      statements.run(sql.upsertVector, [scope, key, model, vectorBytes(vector), now + this.options.ttlMs]);
      if (totals(statements, 'vectors').count <= this.options.maxVectors) return;
      statements.run(sql.deleteExpiredVectors, [now]);
      const over = totals(statements, 'vectors').count - this.options.maxVectors;
      if (over > 0) statements.run(sql.deleteOldestVectors, [over]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (!opening) return;
    const statements = await opening.catch(() => undefined);
    if (!statements || !this.db?.isOpen) return;
    // The recency of the last reads, if the lock is free.
    if (this.migrated && this.touched.size > 0) this.tryWrite(statements, () => {});
    statements.finalize();
    this.db.close();
  }

  /**
   * Drop the least recently used answers beyond `maxEntries` and `maxBytes` (their vectors go with them, by trigger),
   * the expired ones first. Within the limits it costs one read of the running totals.
   */
  private evictEntries(statements: SqliteStatements, now: number): void {
    const { maxEntries, maxBytes = Number.POSITIVE_INFINITY } = this.options;
    let { count, bytes } = totals(statements, 'entries');
    if (count <= maxEntries && bytes <= maxBytes) return;
    statements.run(sql.deleteExpiredEntries, [now]);
    ({ count, bytes } = totals(statements, 'entries'));
    while (count > maxEntries || bytes > maxBytes) {
      const rows = statements.all(sql.leastRecentlyUsed, [Math.max(count - maxEntries, 16)]);
      if (rows.length === 0) return;
      for (const row of rows) {
        if (count <= maxEntries && bytes <= maxBytes) return;
        statements.run(sql.deleteEntry, [String(row.key)]);
        count -= 1;
        bytes -= Number(row.bytes);
      }
    }
  }

  /** The file's statements, once the package is loaded, the file opened and its schema current. */
  private async open(): Promise<SqliteStatements> {
    if (this.closed) throw closedError(this.options.file);
    this.opening ??= this.openFile();
    const statements = await this.opening;
    if (this.closed) throw closedError(this.options.file);
    if (!this.migrated) this.migrate(statements);
    return statements;
  }

  private async openFile(): Promise<SqliteStatements> {
    const loaded = (await loadStorePackage('sqlite', this.options.load ?? (() => import('node-sqlite3-wasm')))) as
      | SqliteModule
      | { default: SqliteModule };
    // A CommonJS module: Node's ESM loader may give its exports as the default export only.
    const { Database } = 'default' in loaded && loaded.default ? loaded.default : (loaded as SqliteModule);
    if (this.closed) throw closedError(this.options.file);
    const file = this.options.file;
    try {
      mkdirSync(dirname(file), { recursive: true });
      removeStaleLock(file);
      this.db = new Database(file);
      return new SqliteStatements(this.db);
    } catch (cause) {
      throw unavailable(file, describeError(cause), cause);
    }
  }

  /** Bring the file to the current schema; tried again by the next operation when another process holds the lock. */
  private migrate(statements: SqliteStatements): void {
    const db = this.db!;
    const version = () => Number((db.get('PRAGMA user_version') as { user_version?: unknown } | null)?.user_version);
    if (this.locked('read', version) < sqliteSchemaVersion) {
      this.write(statements, () => {
        // Another process may have migrated it since.
        if (version() < sqliteSchemaVersion) db.exec(sqliteMigration);
      });
    }
    this.migrated = true;
  }

  /** Run `fn` in one write transaction, after the recency of the reads since the last one; never waits for the lock. */
  private write(statements: SqliteStatements, fn: () => void): void {
    const db = this.db!;
    this.locked('write', () => db.exec('BEGIN IMMEDIATE'));
    try {
      if (this.migrated) {
        for (const [key, usedAt] of this.touched) statements.run(sql.touch, [usedAt, key, usedAt]);
      }
      fn();
      db.exec('COMMIT');
    } catch (error) {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {
        // The transaction is gone with the failure.
      }
      throw CacheError.isInstance(error) ? error : unavailable(this.options.file, describeError(error), error);
    }
    this.touched.clear();
  }

  /** A write that may be skipped: when the lock is held, the next write does it. */
  private tryWrite(statements: SqliteStatements, fn: () => void): void {
    try {
      this.write(statements, fn);
    } catch {
      // Kept for later (recency), or harmless to leave (a corrupt entry is reported again).
    }
  }

  /** `fn`, or at once a CacheError when another process holds the file's lock: a miss, or a dropped write. */
  private locked<T>(what: 'read' | 'write', fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      const file = this.options.file;
      if (!/busy|locked/i.test(String((error as Error)?.message))) throw unavailable(file, describeError(error), error);
      removeStaleLock(file);
      throw new CacheError({
        code: 'STORE_UNAVAILABLE',
        message: `the response cache's SQLite file ${file} is locked by another process, so this ${what === 'read' ? 'read is a miss' : 'write is dropped'}`,
        fix: 'nothing to do if it passes (a process holds the lock for milliseconds); if it lasts, give each process its own router.cache.path, or share one cache with router.cache.store: redis',
        cause: error,
      });
    }
  }
}

function totals(statements: SqliteStatements, name: 'entries' | 'vectors'): { count: number; bytes: number } {
  const [row] = statements.all(sql.totals, [name]);
  return { count: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) };
}

function unavailable(file: string, why: string, cause?: unknown): CacheError {
  return new CacheError({
    code: 'STORE_UNAVAILABLE',
    message: `the response cache's SQLite file ${file} cannot be used: ${why}`,
    fix: 'check that its folder is writable and the file is a SQLite database (router.cache.path)',
    ...(cause === undefined ? {} : { cause }),
  });
}

function closedError(file: string): CacheError {
  return new CacheError({
    code: 'STORE_UNAVAILABLE',
    message: `the response cache's SQLite file ${file} was used after the cache was closed`,
    fix: 'close the router (or its cache) only after its last request has finished; until then it answers without the cache',
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
