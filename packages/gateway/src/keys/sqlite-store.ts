import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as sqlite from 'node-sqlite3-wasm';
import { MemoryKeyStore, MemoryUsageStore } from './memory-store';
import type { BudgetPeriod, KeyRecord, KeyStore, Settlement, SpendRow, UsageStore } from './store';

/**
 * The database files in the gateway's data folder (`server.data_dir`): key records apart from spend, so that the
 * spend written every second does not make the gateway read the keys again (it does when their file changes).
 */
const keysFileName = 'keys.sqlite';
const spendFileName = 'spend.sqlite';

const keysSchema = `
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER, revoked_at INTEGER, rotated_at INTEGER,
  models TEXT, rpm INTEGER, tpm INTEGER, budget_micros INTEGER, budget_period TEXT NOT NULL
);`;

const spendSchema = `
CREATE TABLE IF NOT EXISTS budget_spend (
  key_id TEXT NOT NULL, period TEXT NOT NULL, micros INTEGER NOT NULL, PRIMARY KEY (key_id, period)
);
CREATE TABLE IF NOT EXISTS spend (
  key_id TEXT NOT NULL, model TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL,
  PRIMARY KEY (key_id, model, day)
);`;

/** A lock folder left by a process killed inside a transaction (transactions last milliseconds). */
const staleLockMs = 30_000;
const busyWaitMs = 5_000;

// A CommonJS module whose exports Node's ESM loader cannot name: take them from its default export when there is one.
const { Database } = (sqlite as typeof sqlite & { default?: typeof sqlite }).default ?? sqlite;
type Database = InstanceType<typeof Database>;

type Row = Record<string, number | bigint | string | Uint8Array | null>;

const num = (value: Row[string] | undefined) => (value === null || value === undefined ? undefined : Number(value));

function recordOf(row: Row): KeyRecord {
  const optional = (name: string, value: number | undefined) => (value === undefined ? {} : { [name]: value });
  return {
    id: String(row.id),
    name: String(row.name),
    hash: String(row.hash),
    prefix: String(row.prefix),
    createdAt: Number(row.created_at),
    budgetPeriod: String(row.budget_period) as BudgetPeriod,
    ...optional('expiresAt', num(row.expires_at)),
    ...optional('revokedAt', num(row.revoked_at)),
    ...optional('rotatedAt', num(row.rotated_at)),
    ...optional('rpm', num(row.rpm)),
    ...optional('tpm', num(row.tpm)),
    ...optional('budgetMicros', num(row.budget_micros)),
    ...(row.models === null ? {} : { models: JSON.parse(String(row.models)) as string[] }),
  };
}

/**
 * One connection to the database file, shared by both stores. node-sqlite3-wasm is SQLite compiled to WebAssembly
 * with a VFS over Node's fs: no native build, the same on Node 20, 22 and 24. Its lock is a `<file>.lock` folder
 * (mkdir is atomic), so the CLI and a running gateway can write the same file; a writer that finds it held waits.
 */
class Connection {
  readonly db: Database;

  constructor(
    readonly file: string,
    schema: string,
  ) {
    removeStaleLock(file);
    this.db = new Database(file);
    this.write(() => this.db.exec(schema));
  }

  /** Run `fn` in one transaction, waiting while another process holds the lock. */
  write<T>(fn: () => T): T {
    const deadline = Date.now() + busyWaitMs;
    for (;;) {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      try {
        const result = fn();
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    }
  }

  read<T>(fn: () => T): T {
    const deadline = Date.now() + busyWaitMs;
    for (;;) {
      try {
        return fn();
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  }

  /** The file's modification stamp: another process wrote to it when this changes. */
  stamp(): string {
    const s = statSync(this.file, { bigint: true });
    return `${s.mtimeNs}:${s.size}`;
  }
}

const isBusy = (error: unknown) => /busy|locked/i.test(String((error as Error)?.message));

function removeStaleLock(file: string): void {
  const lock = `${file}.lock`;
  try {
    if (Date.now() - statSync(lock).mtimeMs > staleLockMs) rmdirSync(lock);
  } catch {
    // no lock folder: nothing to do
  }
}

/**
 * Key records in SQLite, read into memory and read again whenever the file changes (a `unity keys` command in
 * another process), so that a lookup on the request path costs a stat and a Map get, and a revocation made from the
 * CLI applies to the next request.
 */
class SqliteKeyStore extends MemoryKeyStore implements KeyStore {
  private loadedStamp = '';

  constructor(private readonly conn: Connection) {
    super();
    this.reload();
  }

  override findByHashNow(hash: string): KeyRecord | undefined {
    if (this.conn.stamp() !== this.loadedStamp) this.reload();
    return super.findByHashNow(hash);
  }

  override async get(id: string) {
    this.refresh();
    return super.get(id);
  }

  override async list() {
    this.refresh();
    return super.list();
  }

  override get size(): number {
    this.refresh();
    return super.size;
  }

  override async create(record: KeyRecord): Promise<void> {
    this.conn.write(() =>
      this.conn.db.run(
        `INSERT INTO keys (id, name, hash, prefix, created_at, expires_at, models, rpm, tpm, budget_micros, budget_period)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          record.id,
          record.name,
          record.hash,
          record.prefix,
          record.createdAt,
          record.expiresAt ?? null,
          record.models ? JSON.stringify(record.models) : null,
          record.rpm ?? null,
          record.tpm ?? null,
          record.budgetMicros ?? null,
          record.budgetPeriod,
        ],
      ),
    );
    this.reload();
  }

  override async revoke(id: string, at: number) {
    this.conn.write(() =>
      this.conn.db.run('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id]),
    );
    this.reload();
    return super.get(id);
  }

  override async rotate(id: string, secret: { hash: string; prefix: string }, at: number) {
    const changes = this.conn.write(
      () =>
        this.conn.db.run('UPDATE keys SET hash = ?, prefix = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL', [
          secret.hash,
          secret.prefix,
          at,
          id,
        ]).changes,
    );
    this.reload();
    return changes === 0 ? undefined : super.get(id);
  }

  override async close(): Promise<void> {
    if (this.conn.db.isOpen) this.conn.db.close();
  }

  private refresh(): void {
    if (this.conn.stamp() !== this.loadedStamp) this.reload();
  }

  private reload(): void {
    const rows = this.conn.read(() => this.conn.db.all('SELECT * FROM keys') as Row[]);
    this.loadedStamp = this.conn.stamp();
    this.replaceAll(rows.map(recordOf));
  }
}

/**
 * Usage in SQLite: rate windows and reservations live in memory (a minute's counters; a restart forgets them), spend
 * is read from the file at start and written to it in one transaction every `flushMs` and at close — a crash loses at
 * most that much spend. One gateway process per data folder: replicas share their usage through Redis instead.
 */
class SqliteUsageStore extends MemoryUsageStore implements UsageStore {
  private pending: Settlement[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly conn: Connection,
    flushMs: number,
  ) {
    super();
    const budgetRows = conn.read(() => conn.db.all('SELECT * FROM budget_spend') as Row[]);
    for (const row of budgetRows) this.addSpend(String(row.key_id), String(row.period), Number(row.micros));
    for (const row of conn.read(() => conn.db.all('SELECT * FROM spend') as Row[])) this.addRow(rowOf(row));
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  override settleNow(settlement: Settlement): void {
    super.settleNow(settlement);
    this.pending.push(settlement);
  }

  /** Write the spend settled since the last flush: summed per (key, period) and (key, model, day) first. */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const budgets = new Map<string, [string, string, number]>();
    const rows = new Map<string, SpendRow>();
    for (const s of batch) {
      const { keyId, period } = s.reservation;
      const budget = budgets.get(`${keyId}\u0000${period}`) ?? [keyId, period, 0];
      budget[2] += s.costMicros;
      budgets.set(`${keyId}\u0000${period}`, budget);
      const id = `${keyId}\u0000${s.model}\u0000${s.day}`;
      const row = rows.get(id) ?? {
        keyId,
        model: s.model,
        day: s.day,
        requests: 0,
        inputTokens: 0,
        outputTokens: 0,
        costMicros: 0,
      };
      row.requests += 1;
      row.inputTokens += s.inputTokens;
      row.outputTokens += s.outputTokens;
      row.costMicros += s.costMicros;
      rows.set(id, row);
    }
    this.conn.write(() => {
      for (const [keyId, period, micros] of budgets.values()) {
        this.conn.db.run(
          `INSERT INTO budget_spend (key_id, period, micros) VALUES (?, ?, ?)
           ON CONFLICT (key_id, period) DO UPDATE SET micros = micros + excluded.micros`,
          [keyId, period, micros],
        );
      }
      for (const r of rows.values()) {
        this.conn.db.run(
          `INSERT INTO spend (key_id, model, day, requests, input_tokens, output_tokens, cost_micros)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (key_id, model, day) DO UPDATE SET requests = requests + excluded.requests,
             input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
             cost_micros = cost_micros + excluded.cost_micros`,
          [r.keyId, r.model, r.day, r.requests, r.inputTokens, r.outputTokens, r.costMicros],
        );
      }
    });
  }

  override async close(): Promise<void> {
    clearInterval(this.timer);
    if (!this.conn.db.isOpen) return;
    this.flush();
    this.conn.db.close();
  }
}

function rowOf(row: Row): SpendRow {
  return {
    keyId: String(row.key_id),
    model: String(row.model),
    day: String(row.day),
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costMicros: Number(row.cost_micros),
  };
}

/**
 * The embedded stores over `<dir>/keys.sqlite` and `<dir>/spend.sqlite` (created with the folder, mode 0700).
 * Closing each flushes and closes its file.
 */
export function openEmbeddedStores(
  dir: string,
  options: { flushMs?: number } = {},
): { keys: MemoryKeyStore; usage: MemoryUsageStore } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = new SqliteKeyStore(new Connection(join(dir, keysFileName), keysSchema));
  const usage = new SqliteUsageStore(new Connection(join(dir, spendFileName), spendSchema), options.flushMs ?? 1_000);
  return { keys, usage };
}
