type SqliteModule = typeof import('node-sqlite3-wasm');
type Database = InstanceType<SqliteModule['Database']>;
type Statement = ReturnType<Database['prepare']>;
type Values = Parameters<Statement['run']>[0];
type Row = Record<string, number | bigint | string | Uint8Array | null>;

/**
 * The prepared statements of one node-sqlite3-wasm database, each compiled once and reused. Queries always run to
 * their end (`all`, with a `LIMIT` where one row is wanted): a statement stopped after its first row would keep the
 * file's lock until its next use. A statement whose step failed (the lock held by another process) cannot be reset
 * cleanly by the package, so it is dropped and prepared anew on its next use.
 */
export class SqliteStatements {
  private readonly prepared = new Map<string, Statement>();

  constructor(private readonly db: Database) {}

  run(sql: string, values?: Values): number {
    return this.use(sql, (statement) => statement.run(values).changes);
  }

  all(sql: string, values?: Values): Row[] {
    return this.use(sql, (statement) => statement.all(values) as Row[]);
  }

  /** Finalize every statement (node-sqlite3-wasm's `close` does not). */
  finalize(): void {
    for (const statement of this.prepared.values()) finalizeQuietly(statement);
    this.prepared.clear();
  }

  private use<T>(sql: string, fn: (statement: Statement) => T): T {
    let statement = this.prepared.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.prepared.set(sql, statement);
    }
    try {
      return fn(statement);
    } catch (error) {
      this.prepared.delete(sql);
      finalizeQuietly(statement);
      throw error;
    }
  }
}

function finalizeQuietly(statement: Statement): void {
  try {
    if (!statement.isFinalized) statement.finalize();
  } catch {
    // finalize reports the error of the failed step again; the statement is released all the same.
  }
}
