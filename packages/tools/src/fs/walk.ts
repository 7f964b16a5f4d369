import type { Dirent } from 'node:fs';
import { opendir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface WalkEntry {
  /** Absolute real path (the walk never follows links, so it stays inside the folder it started in). */
  abs: string;
  /** Path relative to the walk's base (the workspace root), `/`-separated. */
  rel: string;
  kind: EntryKind;
}

export interface WalkOptions {
  /** Absolute real path of the folder the paths are shown relative to (the workspace root). */
  base: string;
  /** Honour `.gitignore` files (in the start folder, below it and in its ancestors up to `base`), skip `skip`. */
  gitignore: boolean;
  /** Folder names never entered when `gitignore` is on. Default `.git`, `node_modules`. */
  skip?: readonly string[];
  /** How many folders and files are worked on at once. Default 32. */
  concurrency?: number;
  /** Only the start folder's own entries when false. Default true. */
  recursive?: boolean;
  signal?: AbortSignal;
}

interface Rules {
  /** Folder the rules are relative to, relative to the base ('' for the base itself). */
  dir: string;
  ig: Ignore;
}

export const DEFAULT_SKIP = ['.git', 'node_modules'] as const;

function kindOf(dirent: Dirent): EntryKind {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isSymbolicLink()) return 'symlink';
  return 'other';
}

function isIgnored(chain: readonly Rules[], rel: string, isDir: boolean): boolean {
  let ignored = false;
  for (const { dir, ig } of chain) {
    const local = dir === '' ? rel : rel.slice(dir.length + 1);
    const result = ig.test(isDir ? `${local}/` : local);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

async function loadRules(dirAbs: string, dirRel: string): Promise<Rules | undefined> {
  try {
    const text = await readFile(path.join(dirAbs, '.gitignore'), 'utf8');
    return { dir: dirRel, ig: ignore().add(text) };
  } catch {
    return undefined;
  }
}

/** A tiny work pool: at most `size` tasks at once, tasks may add tasks; `drain()` settles when all are done. */
class Pool {
  private running = 0;
  private queue: Array<() => Promise<void>> = [];
  private head = 0;
  private failure: unknown;
  private settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(private readonly size: number) {}

  add(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.size && this.head < this.queue.length) {
      const task = this.queue[this.head] as () => Promise<void>;
      this.queue[this.head++] = undefined as never;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.running++;
      task().then(
        () => this.finish(),
        (error) => {
          this.failure ??= error;
          this.queue = [];
          this.head = 0;
          this.finish();
        },
      );
    }
  }

  private finish(): void {
    this.running--;
    this.pump();
    if (this.running === 0 && this.head >= this.queue.length && this.settle) {
      if (this.failure !== undefined) this.settle.reject(this.failure);
      else this.settle.resolve();
    }
  }

  drain(): Promise<void> {
    if (this.running === 0 && this.head >= this.queue.length) {
      return this.failure !== undefined ? Promise.reject(this.failure) : Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }
}

/**
 * Walk a folder tree with `fs.opendir`, folders and files worked on concurrently (bounded), links never followed,
 * `.gitignore` honoured when asked. `visit` is called for every entry that is not ignored (folders before their
 * content); it returns false to stop the walk, or a function doing async work on the entry, which the pool runs
 * within its bound (that function too may return false to stop the walk).
 */
export async function walk(
  startAbs: string,
  options: WalkOptions,
  visit: (entry: WalkEntry) => boolean | undefined | (() => Promise<boolean | undefined>),
): Promise<void> {
  const skip = new Set(options.gitignore ? (options.skip ?? DEFAULT_SKIP) : []);
  const pool = new Pool(options.concurrency ?? 32);
  let stopped = false;
  const relOf = (abs: string) => path.relative(options.base, abs).split(path.sep).join('/');

  const initial: Rules[] = [];
  if (options.gitignore) {
    // Rules of the ancestors between the base and the start folder apply too.
    const startRel = relOf(startAbs);
    const parts = startRel === '' ? [] : startRel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dirRel = parts.slice(0, i).join('/');
      const rules = await loadRules(path.join(options.base, dirRel), dirRel);
      if (rules) initial.push(rules);
    }
  }

  const run = (work: () => Promise<boolean | undefined>) => async () => {
    if (stopped || options.signal?.aborted) return;
    if ((await work()) === false) stopped = true;
  };

  const scan = async (dirAbs: string, dirRel: string, inherited: readonly Rules[]): Promise<void> => {
    if (stopped || options.signal?.aborted) return;
    const dirents: Dirent[] = [];
    try {
      const dir = await opendir(dirAbs, { bufferSize: 256 });
      for await (const dirent of dir) dirents.push(dirent);
    } catch (error) {
      // A folder that vanished or may not be read is skipped, like `find` and `rg` do; the start folder is not.
      const code = (error as NodeJS.ErrnoException).code;
      if (dirAbs !== startAbs && (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'ENOTDIR'))
        return;
      throw error;
    }
    let chain = inherited;
    if (options.gitignore && dirents.some((d) => d.name === '.gitignore' && d.isFile())) {
      const rules = await loadRules(dirAbs, dirRel);
      if (rules) chain = [...inherited, rules];
    }
    for (const dirent of dirents) {
      if (stopped || options.signal?.aborted) return;
      const kind = kindOf(dirent);
      if (kind === 'dir' && skip.has(dirent.name)) continue;
      const rel = dirRel === '' ? dirent.name : `${dirRel}/${dirent.name}`;
      if (chain.length > 0 && isIgnored(chain, rel, kind === 'dir')) continue;
      const entry: WalkEntry = { abs: path.join(dirAbs, dirent.name), rel, kind };
      const result = visit(entry);
      if (typeof result === 'function') pool.add(run(result));
      else if (result === false) stopped = true;
      if (kind === 'dir' && !stopped && options.recursive !== false) pool.add(() => scan(entry.abs, rel, chain));
    }
  };

  pool.add(() => scan(startAbs, relOf(startAbs), initial));
  await pool.drain();
  options.signal?.throwIfAborted();
}
