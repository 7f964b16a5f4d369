import { type Dirent, readdirSync, readFileSync } from 'node:fs';
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
  /** Only the start folder's own entries when false. Default true. */
  recursive?: boolean;
  /** Longest the walk holds the event loop before it yields. Default 10 ms. */
  sliceMs?: number;
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

function loadRules(dirAbs: string, dirRel: string): Rules | undefined {
  try {
    return { dir: dirRel, ig: ignore().add(readFileSync(path.join(dirAbs, '.gitignore'), 'utf8')) };
  } catch {
    return undefined;
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Walk a folder tree depth-first, links never followed, `.gitignore` honoured when asked. `visit` is called for every
 * entry that is not ignored (a folder before its content) and returns false to stop, or a promise to wait for.
 *
 * Folders are read and small files visited with synchronous calls in time slices (`sliceMs`), yielding to the event
 * loop between slices: on a tree of 100,000 small files this is several times faster than one promise per file
 * through libuv's thread pool, and the loop stays responsive enough for timeouts and aborts.
 */
export async function walk(
  startAbs: string,
  options: WalkOptions,
  visit: (entry: WalkEntry) => boolean | undefined | Promise<boolean | undefined>,
): Promise<void> {
  const skip = new Set(options.gitignore ? (options.skip ?? DEFAULT_SKIP) : []);
  const sliceMs = options.sliceMs ?? 10;
  const relOf = (abs: string) => path.relative(options.base, abs).split(path.sep).join('/');

  const initial: Rules[] = [];
  if (options.gitignore) {
    // Rules of the ancestors between the base and the start folder apply too.
    const startRel = relOf(startAbs);
    const parts = startRel === '' ? [] : startRel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dirRel = parts.slice(0, i).join('/');
      const rules = loadRules(path.join(options.base, dirRel), dirRel);
      if (rules) initial.push(rules);
    }
  }

  const stack: Array<{ abs: string; rel: string; chain: readonly Rules[] }> = [
    { abs: startAbs, rel: relOf(startAbs), chain: initial },
  ];
  let sliceStart = performance.now();
  while (stack.length > 0) {
    const { abs: dirAbs, rel: dirRel, chain: inherited } = stack.pop() as (typeof stack)[number];
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dirAbs, { withFileTypes: true });
    } catch (error) {
      // A folder that vanished or may not be read is skipped, like `find` and `rg` do; the start folder is not.
      const code = (error as NodeJS.ErrnoException).code;
      if (dirAbs !== startAbs && (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'ENOTDIR'))
        continue;
      throw error;
    }
    let chain = inherited;
    if (options.gitignore && dirents.some((d) => d.name === '.gitignore' && d.isFile())) {
      const rules = loadRules(dirAbs, dirRel);
      if (rules) chain = [...inherited, rules];
    }
    const children: typeof stack = [];
    for (const dirent of dirents) {
      if (performance.now() - sliceStart > sliceMs) {
        await yieldToLoop();
        options.signal?.throwIfAborted();
        sliceStart = performance.now();
      }
      const kind = kindOf(dirent);
      if (kind === 'dir' && skip.has(dirent.name)) continue;
      const rel = dirRel === '' ? dirent.name : `${dirRel}/${dirent.name}`;
      if (chain.length > 0 && isIgnored(chain, rel, kind === 'dir')) continue;
      const entry: WalkEntry = { abs: `${dirAbs}${path.sep}${dirent.name}`, rel, kind };
      let verdict = visit(entry);
      if (verdict instanceof Promise) {
        verdict = await verdict;
        options.signal?.throwIfAborted();
        sliceStart = performance.now();
      }
      if (verdict === false) return;
      if (kind === 'dir' && options.recursive !== false) children.push({ abs: entry.abs, rel, chain });
    }
    // Reversed, so folders are entered in the order they were listed.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as (typeof stack)[number]);
  }
  options.signal?.throwIfAborted();
}
