import { constants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ToolError } from '../errors';
import { errnoCode, type Folder } from '../fs/descriptors';
import type { Sandbox } from '../sandbox';

/** Where a fact came from: the tool call (and run) that added it, and when. */
export interface Provenance {
  at: string;
  call?: string;
  run?: string;
}

export interface Observation extends Provenance {
  text: string;
}

export interface Entity {
  name: string;
  type: string;
  observations: Observation[];
}

export interface Relation {
  from: string;
  to: string;
  type: string;
}

export interface MemoryQuery {
  /** Words to find in names, types and observations (case-insensitive; every word must occur). */
  text?: string;
  /** Only the entity of this name (case-insensitive). */
  name?: string;
  /** Only entities of this type (case-insensitive). */
  type?: string;
  /** Most entities returned. Default 20. */
  max?: number;
}

export interface MemoryQueryResult {
  entities: Entity[];
  relations: Relation[];
  /** Entities matched in all (more than returned when `max` cut). */
  matched: number;
}

type LogRecord =
  | ({ kind: 'entity'; name: string; type: string } & Provenance)
  | ({ kind: 'observation'; entity: string; text: string } & Provenance)
  | ({ kind: 'relation'; from: string; to: string; type: string } & Provenance);

export interface MemoryStoreOptions {
  /** The log, relative to the workspace root. Default `.unity/memory.jsonl`. */
  file?: string;
  /** How long a writer waits for the lock before giving up. Default 10,000 ms. */
  lockTimeoutMs?: number;
}

const key = (name: string) => name.toLowerCase();

/**
 * A knowledge graph (entities with observations, and typed relations between them) kept as an append-only JSONL log
 * inside the workspace. Writers take a lock file (proper-lockfile) and append whole lines in one write with O_APPEND,
 * so several processes can add at once without losing or mixing lines; readers replay the log, skipping any line that
 * does not parse. Each record keeps when, and from which call, it came.
 */
export class MemoryStore {
  readonly file: string;
  private readonly lockTimeoutMs: number;
  private readonly entities = new Map<string, Entity>();
  private readonly relations = new Map<string, Relation>();
  private offset = 0;
  /** Lines of the log that could not be parsed and were skipped. */
  corruptLines = 0;

  constructor(
    private readonly sandbox: Sandbox,
    options: MemoryStoreOptions = {},
  ) {
    this.file = options.file ?? '.unity/memory.jsonl';
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  /** The log's folder and file name, relative to the root. */
  private location(): { dir: string; name: string } {
    const normal = path.posix.normalize(this.file.split(path.sep).join('/'));
    return { dir: path.posix.dirname(normal), name: path.posix.basename(normal) };
  }

  /**
   * Read what other writers appended since the last look. The log is opened relative to its folder's verified
   * descriptor and never through a link, so a folder swapped for a link to the outside is never read.
   */
  private async refresh(held?: Folder): Promise<void> {
    const { dir, name } = this.location();
    let folder = held;
    if (!folder) {
      try {
        folder = this.sandbox.openFolder(dir, 'memory');
      } catch (error) {
        if (ToolError.isInstance(error) && error.code === 'NOT_FOUND') return;
        throw error;
      }
    }
    let handle: FileHandle;
    try {
      handle = await open(folder.path(name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      throw error;
    } finally {
      if (!held) folder.close();
    }
    try {
      const { size } = await handle.stat();
      if (size < this.offset) {
        // The log was replaced: start over.
        this.entities.clear();
        this.relations.clear();
        this.offset = 0;
        this.corruptLines = 0;
      }
      if (size === this.offset) return;
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      const text = buffer.subarray(0, bytesRead);
      const lastNewline = text.lastIndexOf(10);
      if (lastNewline === -1) return; // a line still being written
      for (const line of text.subarray(0, lastNewline).toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          this.apply(JSON.parse(line) as LogRecord);
        } catch {
          this.corruptLines++;
        }
      }
      this.offset += lastNewline + 1;
    } finally {
      await handle.close();
    }
  }

  private apply(record: LogRecord): void {
    const { at, call, run } = record;
    const provenance: Provenance = { at, ...(call ? { call } : {}), ...(run ? { run } : {}) };
    if (record.kind === 'entity') {
      const existing = this.entities.get(key(record.name));
      if (existing) existing.type = record.type;
      else this.entities.set(key(record.name), { name: record.name, type: record.type, observations: [] });
    } else if (record.kind === 'observation') {
      const entity = this.entities.get(key(record.entity));
      if (!entity) throw new Error('observation of an unknown entity');
      entity.observations.push({ text: record.text, ...provenance });
    } else if (record.kind === 'relation') {
      this.relations.set(`${key(record.from)}\u0000${key(record.type)}\u0000${key(record.to)}`, {
        from: record.from,
        to: record.to,
        type: record.type,
      });
    } else {
      throw new Error('unknown record');
    }
  }

  /**
   * Under the lock: catch up, let `plan` decide the records from the current graph, append them in one write. The log,
   * its lock and the append are all named relative to the verified descriptor of the log's folder (created when
   * missing, folder by folder), so a folder swapped for a link meanwhile cannot send a write outside.
   */
  private async append(plan: () => LogRecord[]): Promise<LogRecord[]> {
    const { dir, name } = this.location();
    const folder = this.sandbox.openFolder(dir, 'memory', { create: true });
    try {
      return await this.appendIn(folder, name, plan);
    } finally {
      folder.close();
    }
  }

  private async appendIn(folder: Folder, name: string, plan: () => LogRecord[]): Promise<LogRecord[]> {
    const target = folder.path(name);
    const existing = await lstat(target).catch(() => undefined);
    const why = !existing
      ? undefined
      : existing.isSymbolicLink()
        ? 'it is a symbolic link; the log is never written through links'
        : !existing.isFile()
          ? 'it is not a regular file'
          : existing.nlink > 1
            ? `it is hard-linked (${existing.nlink} links), so appending could change a file elsewhere`
            : undefined;
    if (why) {
      throw new ToolError({
        code: 'DENIED',
        message: `memory: refused to write ${this.file}: ${why}`,
        fix: `remove ${this.file} (the memory tools create it again)`,
      });
    }
    let compromised: unknown;
    let release: () => Promise<void>;
    try {
      release = await this.lock(target, folder.path(`${name}.lock`), (error) => {
        compromised = error;
      });
    } catch (error) {
      if (errnoCode(error) !== 'ELOCKED') {
        throw new ToolError({
          code: 'FAILED',
          message: `memory: could not lock ${this.file}: ${errnoCode(error) === 'ENOENT' ? 'its folder was removed meanwhile' : (error as Error).message}`,
          fix: 'try again',
          cause: error,
        });
      }
      throw new ToolError({
        code: 'TIMEOUT',
        message: `memory: could not lock ${this.file} within about ${this.lockTimeoutMs} ms (lockTimeoutMs): another process holds it`,
        fix: `try again; if no other process is writing, remove the stale lock folder ${this.file}.lock`,
        cause: error,
      });
    }
    try {
      await this.refresh(folder);
      const records = plan();
      if (records.length === 0) return records;
      const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
      const handle = await open(
        target,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
        0o644,
      );
      try {
        await handle.write(text);
      } finally {
        await handle.close();
      }
      if (compromised) throw compromised;
      for (const record of records) this.apply(record);
      this.offset += Buffer.byteLength(text);
      return records;
    } finally {
      await release().catch(() => {});
    }
  }

  /**
   * Take the lock folder, waiting (2 to 20 ms between tries, randomised) while another writer holds it, at most
   * `lockTimeoutMs`. Only ELOCKED is waited on: any other failure (the folder was removed) is thrown at once.
   */
  private async lock(
    target: string,
    lockfilePath: string,
    onCompromised: (error: Error) => void,
  ): Promise<() => Promise<void>> {
    const deadline = performance.now() + this.lockTimeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 1.5, 20)) {
      try {
        return await lockfile.lock(target, { lockfilePath, realpath: false, stale: 10_000, retries: 0, onCompromised });
      } catch (error) {
        if (errnoCode(error) !== 'ELOCKED' || performance.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
      }
    }
  }

  private stamp(provenance: Omit<Provenance, 'at'>): Provenance {
    return { at: new Date().toISOString(), ...provenance };
  }

  /** Add entities (with first observations); an existing name keeps its observations and takes the new type. */
  async addEntities(
    entities: ReadonlyArray<{ name: string; type: string; observations?: readonly string[] }>,
    provenance: Omit<Provenance, 'at'> = {},
  ): Promise<{ created: string[]; updated: string[] }> {
    const created: string[] = [];
    const updated: string[] = [];
    await this.append(() => {
      const stamp = this.stamp(provenance);
      created.length = 0;
      updated.length = 0;
      const records: LogRecord[] = [];
      for (const e of entities) {
        (this.entities.has(key(e.name)) ? updated : created).push(e.name);
        records.push({ kind: 'entity', name: e.name, type: e.type, ...stamp });
        for (const text of e.observations ?? []) records.push({ kind: 'observation', entity: e.name, text, ...stamp });
      }
      return records;
    });
    return { created, updated };
  }

  /** Add relations between existing entities; a relation already known is not repeated. */
  async addRelations(
    relations: readonly Relation[],
    provenance: Omit<Provenance, 'at'> = {},
  ): Promise<{ added: number; existing: number }> {
    let added = 0;
    await this.append(() => {
      const missing = relations.flatMap((r) => [r.from, r.to]).filter((n) => !this.entities.has(key(n)));
      if (missing.length > 0) throw unknownEntities(missing);
      const stamp = this.stamp(provenance);
      const fresh = relations.filter(
        (r) => !this.relations.has(`${key(r.from)}\u0000${key(r.type)}\u0000${key(r.to)}`),
      );
      added = fresh.length;
      return fresh.map((r) => ({ kind: 'relation' as const, from: r.from, to: r.to, type: r.type, ...stamp }));
    });
    return { added, existing: relations.length - added };
  }

  /** Add observations to existing entities. */
  async addObservations(
    items: ReadonlyArray<{ entity: string; observations: readonly string[] }>,
    provenance: Omit<Provenance, 'at'> = {},
  ): Promise<{ added: number }> {
    let added = 0;
    await this.append(() => {
      const missing = items.map((i) => i.entity).filter((n) => !this.entities.has(key(n)));
      if (missing.length > 0) throw unknownEntities(missing);
      const stamp = this.stamp(provenance);
      const records = items.flatMap((i) =>
        i.observations.map((text) => ({
          kind: 'observation' as const,
          entity: this.entities.get(key(i.entity))?.name ?? i.entity,
          text,
          ...stamp,
        })),
      );
      added = records.length;
      return records;
    });
    return { added };
  }

  /** Entities matching the query, with the relations that touch them. */
  async query(query: MemoryQuery = {}): Promise<MemoryQueryResult> {
    await this.refresh();
    const words = (query.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const matches = [...this.entities.values()].filter((e) => {
      if (query.name && key(e.name) !== key(query.name)) return false;
      if (query.type && key(e.type) !== key(query.type)) return false;
      if (words.length === 0) return true;
      const haystack = `${e.name}\n${e.type}\n${e.observations.map((o) => o.text).join('\n')}`.toLowerCase();
      return words.every((w) => haystack.includes(w));
    });
    const entities = matches.slice(0, query.max ?? 20);
    const names = new Set(entities.map((e) => key(e.name)));
    const relations = [...this.relations.values()].filter((r) => names.has(key(r.from)) || names.has(key(r.to)));
    return { entities, relations, matched: matches.length };
  }
}

function unknownEntities(names: readonly string[]): ToolError {
  const list = [...new Set(names)].map((n) => JSON.stringify(n)).join(', ');
  return new ToolError({
    code: 'NOT_FOUND',
    message: `memory: no entity named ${list}`,
    fix: 'add it with add_entities first, or check the name with memory_query',
  });
}
