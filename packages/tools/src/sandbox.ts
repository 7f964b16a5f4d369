import { randomBytes } from 'node:crypto';
import { constants, realpathSync, type Stats, statSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from './errors';

/** A path inside the sandbox, resolved and checked. */
export interface ResolvedPath {
  /** The real absolute path (symbolic links resolved). */
  real: string;
  /** The path relative to the root, with `/` separators, as the model should name it (`.` for the root). */
  rel: string;
}

export interface ExistingPath extends ResolvedPath {
  stats: Stats;
}

const MAX_ECHO = 200;

/** The model's input, quoted for a message: control characters escaped, long input cut. */
export function quotePath(input: string): string {
  const quoted = JSON.stringify(input);
  return quoted.length > MAX_ECHO ? `${quoted.slice(0, MAX_ECHO)}…"` : quoted;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The workspace a model's tools may touch. Every path is resolved against the root, normalised and checked again
 * after `realpath`, so `..`, absolute paths, symbolic links (to files or folders) pointing outside, and siblings that
 * merely share the root's prefix (`/srv/app-evil` next to `/srv/app`) are all refused. Errors name the refused path
 * and the allowed root, never any content.
 */
export class Sandbox {
  /** The real path of the root. */
  readonly root: string;
  private readonly givenRoot: string;

  constructor(root: string) {
    this.givenRoot = path.resolve(root);
    let real: string;
    try {
      real = realpathSync(this.givenRoot);
    } catch (error) {
      throw new ToolError({
        code: 'INVALID_CONFIG',
        message: `workspace root ${this.givenRoot} does not exist (${errnoCode(error) ?? 'unreadable'})`,
        fix: 'create the folder or pass an existing one as the root',
        cause: error,
      });
    }
    if (!statSync(real).isDirectory()) {
      throw new ToolError({
        code: 'INVALID_CONFIG',
        message: `workspace root ${this.givenRoot} is not a folder`,
        fix: 'pass a folder as the root',
      });
    }
    this.root = real;
  }

  /** True when a real absolute path is the root or below it. */
  contains(realPath: string): boolean {
    return isInside(this.root, realPath);
  }

  /** The model-facing name of a real path inside the root. */
  relative(realPath: string): string {
    const rel = path.relative(this.root, realPath);
    return rel === '' ? '.' : rel.split(path.sep).join('/');
  }

  private refuse(tool: string, input: string, why: string): ToolError {
    return new ToolError({
      code: 'PATH_OUTSIDE_ROOT',
      message: `${tool}: refused path ${quotePath(input)}: ${why}. Allowed root: ${this.root}`,
      fix: 'use a path inside the allowed root, preferably relative to it (e.g. "src/index.ts")',
    });
  }

  /** Resolve and normalise without touching the disk: NUL bytes, `..` escapes and outside absolute paths refused. */
  lexical(input: string, tool: string): string {
    if (input.includes('\0')) throw this.refuse(tool, input, 'it contains a NUL byte');
    const candidate = input === '' ? '.' : input;
    let abs: string;
    if (path.isAbsolute(candidate)) {
      abs = path.normalize(candidate);
      // An absolute path spelled through the root as given (before realpath) is inside too.
      if (!isInside(this.root, abs) && isInside(this.givenRoot, abs)) {
        abs = path.join(this.root, path.relative(this.givenRoot, abs));
      }
      if (!isInside(this.root, abs)) throw this.refuse(tool, input, 'it is an absolute path outside the workspace');
    } else {
      abs = path.resolve(this.root, candidate);
      if (!isInside(this.root, abs)) throw this.refuse(tool, input, 'it climbs out of the workspace with ".."');
    }
    return abs;
  }

  /**
   * The real path of the nearest existing ancestor of `abs` (or `abs` itself), with the not-yet-existing rest
   * appended. Refuses when that ancestor's real path lies outside the root (a symlinked folder pointing out).
   */
  private async realOrNearest(abs: string, input: string, tool: string): Promise<{ real: string; exists: boolean }> {
    const missing: string[] = [];
    let current = abs;
    for (;;) {
      try {
        const real = await realpath(current);
        if (!this.contains(real))
          throw this.refuse(tool, input, 'it leads outside the workspace through a symbolic link');
        return { real: path.join(real, ...missing.reverse()), exists: missing.length === 0 };
      } catch (error) {
        if (ToolError.isInstance(error)) throw error;
        const code = errnoCode(error);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        const parent = path.dirname(current);
        // A dangling symlink: its target does not exist; treat it like a link that we must not follow.
        const linkStats = await lstat(current).catch(() => undefined);
        if (linkStats?.isSymbolicLink()) {
          throw this.refuse(tool, input, 'it is a symbolic link whose target does not exist or is outside');
        }
        if (parent === current) throw error;
        missing.push(path.basename(current));
        current = parent;
      }
    }
  }

  /**
   * Resolve a path that need not exist: refused when it, or the nearest existing folder above it, is outside the
   * root after `realpath`. Relative paths are taken from `from` (a real folder inside the root; default the root).
   */
  async resolve(input: string, tool: string, from?: string): Promise<ResolvedPath & { exists: boolean }> {
    const abs = this.lexical(from && !path.isAbsolute(input) ? path.join(from, input) : input, tool);
    const { real, exists } = await this.realOrNearest(abs, input, tool);
    return { real, rel: this.relative(real), exists };
  }

  /** Resolve a path that must exist: its real path must be inside the root. */
  async resolveExisting(input: string, tool: string): Promise<ExistingPath> {
    const abs = this.lexical(input, tool);
    const { real, exists } = await this.realOrNearest(abs, input, tool);
    if (!exists) {
      throw new ToolError({
        code: 'NOT_FOUND',
        message: `${tool}: ${quotePath(input)} does not exist in the workspace (root: ${this.root})`,
        fix: 'check the name with list_files',
      });
    }
    return { real, rel: this.relative(real), stats: await stat(real) };
  }

  /** Open an existing file inside the root for reading; the final component is never followed as a link. */
  async openForRead(input: string, tool: string): Promise<ExistingPath & { handle: FileHandle }> {
    const resolved = await this.resolveExisting(input, tool);
    if (resolved.stats.isDirectory()) {
      throw new ToolError({
        code: 'FAILED',
        message: `${tool}: ${quotePath(input)} is a folder, not a file`,
        fix: 'list it with list_files, or name a file inside it',
      });
    }
    if (!resolved.stats.isFile()) {
      throw new ToolError({
        code: 'DENIED',
        message: `${tool}: ${quotePath(input)} is not a regular file (a device, socket or pipe)`,
        fix: 'read a regular file',
      });
    }
    // O_NONBLOCK: a pipe swapped in after the check cannot hang the open.
    const handle = await open(resolved.real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    return { ...resolved, handle };
  }

  /**
   * Resolve a file to be written: the real parent must be inside the root (created when missing), the file itself
   * must not be a symbolic link, a folder, or hard-linked elsewhere (nlink > 1).
   */
  async resolveForWrite(input: string, tool: string): Promise<ResolvedPath & { existing?: Stats }> {
    const abs = this.lexical(input, tool);
    if (abs === this.root) throw this.deny(tool, input, 'it is the workspace root, a folder');
    const parent = await this.realOrNearest(path.dirname(abs), input, tool);
    await mkdir(parent.real, { recursive: true });
    // Check again after creating: a folder swapped for a link in between is caught here.
    const realParent = await realpath(parent.real);
    if (!this.contains(realParent))
      throw this.refuse(tool, input, 'it leads outside the workspace through a symbolic link');
    const real = path.join(realParent, path.basename(abs));
    const existing = await lstat(real).catch((error) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (existing?.isSymbolicLink())
      throw this.deny(tool, input, 'it is a symbolic link; files are never written through links');
    if (existing?.isDirectory()) throw this.deny(tool, input, 'it is a folder');
    if (existing && !existing.isFile()) throw this.deny(tool, input, 'it is not a regular file');
    if (existing && existing.nlink > 1) {
      throw this.deny(
        tool,
        input,
        `it is hard-linked (${existing.nlink} links), so writing it could change a file elsewhere`,
      );
    }
    return { real, rel: this.relative(real), existing };
  }

  private deny(tool: string, input: string, why: string): ToolError {
    return new ToolError({
      code: 'DENIED',
      message: `${tool}: refused to write ${quotePath(input)}: ${why}. Allowed root: ${this.root}`,
      fix: 'write to a regular file inside the allowed root',
    });
  }

  /**
   * Write a file atomically: a temporary file beside it (created exclusively, never following a link) is renamed over
   * the target, so readers see the old or the new content, never half of it. Keeps an existing file's mode.
   */
  async writeFile(
    input: string,
    content: string | Uint8Array,
    tool: string,
  ): Promise<ResolvedPath & { created: boolean; bytes: number }> {
    const target = await this.resolveForWrite(input, tool);
    const temp = path.join(
      path.dirname(target.real),
      `.${path.basename(target.real)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(temp, flags, target.existing ? target.existing.mode & 0o7777 : 0o666);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => {});
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, target.real);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    return { real: target.real, rel: target.rel, created: !target.existing, bytes: data.byteLength };
  }
}
