import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { type FileHandle, lstat, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from './errors';
import { errnoCode, Folder, openFd, outsideError, procFdAvailable, realPathOfFd } from './fs/descriptors';

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

/** An existing path, opened and verified: the descriptor is what was checked. */
export interface OpenedPath extends ExistingPath {
  fd: number;
  /** Set when it is a folder: its children, named through the verified descriptor. */
  folder?: Folder;
  /** Close the descriptor (once). */
  close(): void;
}

export interface SandboxOptions {
  /**
   * Paths (relative to the root) that hold the tools' own state: `write_file` refuses them and everything below
   * them. Default `['.unity']` (the memory log, audit trail).
   */
  protectedPaths?: readonly string[];
  /**
   * Check opened descriptors through `/proc/self/fd` (race-free). Default: where it works (Linux); `false` forces
   * the fallback of checking paths with `realpath` before using them, which a concurrent symlink swap can beat.
   */
  verifyDescriptors?: boolean;
}

const MAX_ECHO = 200;

/** The model's input, quoted for a message: control characters escaped, long input cut. */
function quotePath(input: string): string {
  const quoted = JSON.stringify(input);
  return quoted.length > MAX_ECHO ? `${quoted.slice(0, MAX_ECHO)}…"` : quoted;
}

/** A relative path in one spelling: `/`-separated, normalised, without a leading `./` or trailing `/`. */
function normalizeRel(rel: string): string {
  const normal = path.posix.normalize(rel.split(path.sep).join('/')).replace(/\/+$/, '');
  return normal === '' ? '.' : normal;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY;

/**
 * The workspace a model's tools may touch. Every path is resolved against the root and normalised, so `..`, absolute
 * paths outside and siblings that merely share the root's prefix (`/srv/app-evil` next to `/srv/app`) are refused
 * before the disk is touched. Then the check and the use are one act: a path is opened first and the kernel is asked
 * (`/proc/self/fd`) what was opened, and new files and folders are created relative to a verified folder descriptor,
 * so symbolic links pointing outside are refused even when one is swapped in while a tool runs. Where `/proc/self/fd`
 * is missing (not Linux), paths are checked with `realpath` just before they are used, which a concurrent swap can
 * beat (see `verifyDescriptors`). Errors name the refused path and the allowed root, never any content.
 */
export class Sandbox {
  /** The real path of the root. */
  readonly root: string;
  /** Paths relative to the root that `write_file` refuses: the tools' own state. Bind them read-only in OS sandboxes. */
  readonly protectedPaths: readonly string[];
  /** True when descriptors are verified through `/proc/self/fd`; false in the `realpath` fallback. */
  readonly verifiesDescriptors: boolean;
  private readonly givenRoot: string;

  constructor(root: string, options: SandboxOptions = {}) {
    this.protectedPaths = Object.freeze(
      (options.protectedPaths ?? ['.unity']).map((p) => normalizeRel(p)).filter((p) => p !== '.'),
    );
    this.verifiesDescriptors = options.verifyDescriptors ?? procFdAvailable();
    this.givenRoot = path.resolve(root);
    let real: string;
    try {
      real = realpathSync(this.givenRoot);
    } catch (error) {
      throw new ToolError({
        code: 'INVALID_CONFIG',
        // Stryker disable next-line StringLiteral: realpath's errors always carry a code
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
    let abs: string;
    if (path.isAbsolute(input)) {
      abs = path.normalize(input);
      // An absolute path spelled through the root as given (before realpath) is inside too.
      if (!isInside(this.root, abs) && isInside(this.givenRoot, abs)) {
        abs = path.join(this.root, path.relative(this.givenRoot, abs));
      }
      if (!isInside(this.root, abs)) throw this.refuse(tool, input, 'it is an absolute path outside the workspace');
    } else {
      // The empty path resolves to the root itself.
      abs = path.resolve(this.root, input);
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
      let real: string;
      try {
        real = await realpath(current);
      } catch (error) {
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
        continue;
      }
      if (!this.contains(real))
        throw this.refuse(tool, input, 'it leads outside the workspace through a symbolic link');
      return { real: path.join(real, ...missing.reverse()), exists: missing.length === 0 };
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

  /**
   * Resolve a path that must exist: its real path must be inside the root. A check only: whoever uses the path by
   * name afterwards can be sent elsewhere by a concurrent swap; to read or list, use `openExisting`/`openForRead`.
   */
  async resolveExisting(input: string, tool: string): Promise<ExistingPath> {
    const abs = this.lexical(input, tool);
    const { real, exists } = await this.realOrNearest(abs, input, tool);
    if (!exists) throw this.notFound(tool, input);
    return { real, rel: this.relative(real), stats: await stat(real) };
  }

  private notFound(tool: string, input: string): ToolError {
    return new ToolError({
      code: 'NOT_FOUND',
      message: `${tool}: ${quotePath(input)} does not exist in the workspace (root: ${this.root})`,
      fix: 'check the name with list_files',
    });
  }

  /** Verify what `fd` is open on: its real path, or (closing `fd`) an `EOUTSIDE` error when it is outside the root. */
  private verify(fd: number): string {
    let real: string;
    try {
      real = realPathOfFd(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (!this.contains(real)) {
      closeSync(fd);
      throw outsideError(real);
    }
    return real;
  }

  /** The error a model sees when opening `input` failed with `error`. */
  private async openFailure(error: unknown, input: string, tool: string): Promise<unknown> {
    const code = errnoCode(error);
    if (code === 'EOUTSIDE') return this.refuse(tool, input, 'it leads outside the workspace through a symbolic link');
    if (code === 'ENXIO') return this.notRegular(tool, input);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return error;
    // Missing: say why as the path check would (a dangling link is refused, not merely missing).
    try {
      await this.resolveExisting(input, tool);
    } catch (explained) {
      if (ToolError.isInstance(explained)) return explained;
    }
    return this.notFound(tool, input);
  }

  private notRegular(tool: string, input: string): ToolError {
    return new ToolError({
      code: 'DENIED',
      message: `${tool}: ${quotePath(input)} is not a regular file (a device, socket or pipe)`,
      fix: 'read a regular file',
    });
  }

  /**
   * Open an existing file or folder (links followed) and verify that what was opened lies inside the root: the
   * descriptor is checked, not the path, so a link swapped in after any earlier look cannot lead outside. Folders come
   * with `folder`, through which their children are named. The caller closes it.
   */
  async openExisting(input: string, tool: string): Promise<OpenedPath> {
    const abs = this.lexical(input, tool);
    if (!this.verifiesDescriptors) return this.openExistingByPath(abs, input, tool);
    let fd: number;
    let real: string;
    try {
      // O_NONBLOCK: a pipe cannot hang the open; callers check the type (stats) before reading.
      fd = await openFd(abs, constants.O_RDONLY | constants.O_NONBLOCK);
      real = this.verify(fd);
    } catch (error) {
      throw await this.openFailure(error, input, tool);
    }
    return this.opened(fd, real, () => new Folder(fd, real, false));
  }

  /** The fallback of `openExisting`: check the real path, then open it without following a last link. */
  private async openExistingByPath(abs: string, input: string, tool: string): Promise<OpenedPath> {
    const { real, exists } = await this.realOrNearest(abs, input, tool);
    if (!exists) throw this.notFound(tool, input);
    let fd: number;
    try {
      fd = await openFd(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (error) {
      throw await this.openFailure(error, input, tool);
    }
    return this.opened(fd, real, () => new Folder(-1, real));
  }

  /** What `openExisting` returns for an open descriptor: its stats, a folder handle for a folder, and `close()`. */
  private opened(fd: number, real: string, folder: () => Folder): OpenedPath {
    const stats = fstatSync(fd);
    let closed = false;
    return {
      fd,
      real,
      rel: this.relative(real),
      stats,
      ...(stats.isDirectory() ? { folder: folder() } : {}),
      close: () => {
        if (!closed) closeSync(fd);
        closed = true;
      },
    };
  }

  /** Open an existing file inside the root for reading; what was opened is verified, and must be a regular file. */
  async openForRead(input: string, tool: string): Promise<ExistingPath & { handle: FileHandle }> {
    const abs = this.lexical(input, tool);
    let handle: FileHandle;
    let real: string;
    try {
      // Stryker disable next-line ConditionalExpression: where /proc/self/fd works both ways give the same answers; they differ only under a concurrent swap
      if (this.verifiesDescriptors) {
        handle = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
        try {
          real = realPathOfFd(handle.fd);
        } catch (error) {
          await handle.close();
          throw error;
        }
        if (!this.contains(real)) {
          await handle.close();
          throw outsideError(real);
        }
      } else {
        const resolved = await this.realOrNearest(abs, input, tool);
        if (!resolved.exists) throw this.notFound(tool, input);
        real = resolved.real;
        handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      }
    } catch (error) {
      if (ToolError.isInstance(error)) throw error;
      throw await this.openFailure(error, input, tool);
    }
    try {
      const stats = await handle.stat();
      if (stats.isDirectory()) {
        throw new ToolError({
          code: 'FAILED',
          message: `${tool}: ${quotePath(input)} is a folder, not a file`,
          fix: 'list it with list_files, or name a file inside it',
        });
      }
      if (!stats.isFile()) throw this.notRegular(tool, input);
      return { real, rel: this.relative(real), stats, handle };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The root, opened as a folder (verified: the root itself may not have been swapped for a link). */
  openRoot(): Folder {
    if (!this.verifiesDescriptors) return new Folder(-1, this.root);
    const fd = openSync(this.root, O_DIR);
    const real = this.verify(fd);
    if (real !== this.root) {
      closeSync(fd);
      throw outsideError(real);
    }
    return new Folder(fd, real);
  }

  /**
   * Open the folder `name` inside `parent` and verify it is inside the root. Without `follow`, a symbolic link is
   * never entered (ENOTDIR); with it, a link is followed and what it leads to verified. Throws Node's errors
   * (ENOENT, ENOTDIR …) and `EOUTSIDE` for a folder outside the root; the caller closes the result.
   */
  openChild(parent: Folder, name: string, options: { follow?: boolean } = {}): Folder {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw Object.assign(new Error(`not a folder name: ${JSON.stringify(name)}`), { code: 'EINVAL' });
    }
    if (this.verifiesDescriptors) {
      const fd = openSync(parent.path(name), O_DIR | (options.follow ? 0 : constants.O_NOFOLLOW));
      return new Folder(fd, this.verify(fd));
    }
    // The fallback: checked by path, just before use.
    const child = path.join(parent.real, name);
    let real = child;
    if (options.follow) {
      real = realpathSync(child);
      if (!this.contains(real)) throw outsideError(real);
    }
    const stats = lstatSync(real);
    if (!stats.isDirectory()) {
      throw Object.assign(new Error(`not a folder: ${child}`), { code: 'ENOTDIR' });
    }
    return new Folder(-1, real);
  }

  /**
   * Open (with `create`, making the missing ones) the folder `input` names, component by component from the root:
   * each step is opened relative to the verified folder above it and verified in turn, and a folder is created only
   * inside a verified one, then opened without following links. With `protect`, steps into protected paths are
   * refused. The caller closes the result.
   */
  openFolder(input: string, tool: string, options: { create?: boolean; protect?: boolean } = {}): Folder {
    const abs = this.lexical(input, tool);
    const rel = this.relative(abs);
    return this.descend(rel === '.' ? [] : rel.split('/'), input, tool, options);
  }

  private descend(
    parts: readonly string[],
    input: string,
    tool: string,
    options: { create?: boolean; protect?: boolean },
  ): Folder {
    let folder = this.openRoot();
    try {
      for (const name of parts) {
        const next = this.enter(folder, name, input, tool, options.create ?? false);
        folder.close();
        folder = next;
        if (options.protect) this.assertWritable(this.relative(folder.real), input, tool);
      }
      return folder;
    } catch (error) {
      folder.close();
      throw error;
    }
  }

  /** One step of `descend`: the folder `name` in `parent`, created when missing and asked to. */
  private enter(parent: Folder, name: string, input: string, tool: string, create: boolean): Folder {
    try {
      return this.openChild(parent, name, { follow: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EOUTSIDE') throw this.refuse(tool, input, 'it leads outside the workspace through a symbolic link');
      if (code === 'ENOTDIR') throw this.deny(tool, input, `${name} is a file, not a folder`);
      if (code !== 'ENOENT') throw error;
      if (!create) throw this.notFound(tool, input);
    }
    try {
      mkdirSync(parent.path(name));
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    try {
      return this.openChild(parent, name);
    } catch (error) {
      // The folder was just created, or is a dangling link: opened without following links, nothing can lead outside,
      // and only the link can be in the way. The other answers stand for a folder swapped meanwhile.
      const code = errnoCode(error);
      if (code === 'EOUTSIDE') throw this.refuse(tool, input, 'it leads outside the workspace through a symbolic link');
      if (code === 'ENOTDIR' && lstatSync(parent.path(name), { throwIfNoEntry: false })?.isSymbolicLink()) {
        throw this.refuse(tool, input, 'it is a symbolic link whose target does not exist or is outside');
      }
      // Stryker disable next-line all: unreachable without a concurrent swap (see above)
      if (code === 'ENOTDIR') throw this.deny(tool, input, `${name} is not a folder`);
      throw error;
    }
  }

  /** True when `rel` (relative to the root) is a protected path or lies below one. */
  isProtected(rel: string): boolean {
    const normal = normalizeRel(rel).toLowerCase();
    return this.protectedPaths.some((p) => {
      const lower = p.toLowerCase();
      return normal === lower || normal.startsWith(`${lower}/`);
    });
  }

  private assertWritable(rel: string, input: string, tool: string): void {
    if (!this.isProtected(rel)) return;
    throw new ToolError({
      code: 'DENIED',
      message: `${tool}: refused to write ${quotePath(input)}: ${rel} is the tools' own state (protected: ${this.protectedPaths.join(', ')}), which only the tools that keep it may change`,
      fix: 'write somewhere else in the workspace; change the memory with add_entities, add_relations or add_observations',
    });
  }

  /**
   * The folder a file is to be written in (created when missing, refused when protected) and the file's checks:
   * not the root, not a symbolic link, not a folder or special file, not hard-linked elsewhere (nlink > 1).
   */
  private async prepareWrite(
    input: string,
    tool: string,
  ): Promise<{ folder: Folder; name: string; rel: string; existing?: Stats }> {
    const abs = this.lexical(input, tool);
    if (abs === this.root) throw this.deny(tool, input, 'it is the workspace root, a folder');
    const parts = this.relative(abs).split('/');
    const name = parts.pop() as string;
    this.assertWritable(this.relative(abs), input, tool);
    const folder = this.descend(parts, input, tool, { create: true, protect: true });
    try {
      const rel = this.relative(path.join(folder.real, name));
      this.assertWritable(rel, input, tool);
      // Stryker disable next-line BlockStatement: in a verified folder lstat fails only with ENOENT (a name too long fails the write as well)
      const existing = await lstat(folder.path(name)).catch((error) => {
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
      return { folder, name, rel, ...(existing ? { existing } : {}) };
    } catch (error) {
      folder.close();
      throw error;
    }
  }

  /**
   * Resolve a file to be written: the real parent must be inside the root (created when missing, safely), the file
   * itself must not be a symbolic link, a folder, or hard-linked elsewhere (nlink > 1), nor a protected path.
   * @deprecated A check only: writing the returned path by name afterwards can be redirected. Use `writeFile`, or
   * `openFolder` and write relative to the folder.
   */
  async resolveForWrite(input: string, tool: string): Promise<ResolvedPath & { existing?: Stats }> {
    const { folder, name, rel, existing } = await this.prepareWrite(input, tool);
    folder.close();
    return { real: path.join(folder.real, name), rel, ...(existing ? { existing } : {}) };
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
   * the target, so readers see the old or the new content, never half of it. Both are named relative to the verified
   * folder descriptor, so a folder swapped for a link meanwhile changes nothing. Keeps an existing file's mode.
   * Protected paths (`protectedPaths`) are refused.
   */
  async writeFile(
    input: string,
    content: string | Uint8Array,
    tool: string,
  ): Promise<ResolvedPath & { created: boolean; bytes: number }> {
    const { folder, name, rel, existing } = await this.prepareWrite(input, tool);
    try {
      const temp = folder.path(`.${name}.${randomBytes(6).toString('hex')}.tmp`);
      // Stryker disable next-line StringLiteral: Buffer.from's default encoding is utf8
      const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      const handle = await open(temp, flags, existing ? existing.mode & 0o7777 : 0o666);
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
        await rename(temp, folder.path(name));
      } catch (error) {
        await unlink(temp).catch(() => {});
        throw error;
      }
      return { real: path.join(folder.real, name), rel, created: !existing, bytes: data.byteLength };
    } finally {
      folder.close();
    }
  }
}
