import { closeSync, constants, fstatSync, open, openSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Descriptor-based file access: the building blocks that let the sandbox check a path and use it in one act.
 *
 * On Linux `/proc/self/fd/N` is a link to whatever descriptor N is open on, as the kernel sees it now, and a path
 * through it (`/proc/self/fd/N/name`) is resolved from that very folder, like `openat(N, name)`, however the folder's
 * path changes afterwards. So the sandbox opens first, asks the kernel what it opened, and names children through
 * the verified descriptor; a folder swapped for a symbolic link between a check and a use cannot redirect anything.
 */

const PROC_FD = '/proc/self/fd';

let procFd: boolean | undefined;

/**
 * True where `/proc/self/fd` names each open descriptor's real path and a path through it acts as `openat` (Linux
 * with /proc mounted). Detected once per process, by opening `/` and asking.
 */
export function procFdAvailable(): boolean {
  if (procFd !== undefined) return procFd;
  procFd = false;
  let fd = -1;
  try {
    fd = openSync('/', constants.O_RDONLY | constants.O_DIRECTORY);
    const direct = fstatSync(fd);
    const through = statSync(`${PROC_FD}/${fd}/.`);
    procFd = readlinkSync(`${PROC_FD}/${fd}`) === '/' && through.ino === direct.ino && through.dev === direct.dev;
  } catch {
    procFd = false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return procFd;
}

/** The real path of what descriptor `fd` is open on, as the kernel reports it (needs `procFdAvailable()`). */
export function realPathOfFd(fd: number): string {
  return readlinkSync(`${PROC_FD}/${fd}`);
}

/** A path that names `name` inside the folder open as `dirFd` (or the folder itself): opened, it acts as openat. */
export function pathAt(dirFd: number, name?: string): string {
  return name === undefined ? `${PROC_FD}/${dirFd}` : `${PROC_FD}/${dirFd}/${name}`;
}

/** An error like Node's own (`code`), for a descriptor whose real path turned out to be outside the root. */
export function outsideError(real: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`opened ${real}, which is outside the workspace`), { code: 'EOUTSIDE' });
}

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A folder inside the workspace, opened and verified. `path(name)` names a child of this very folder: through the
 * descriptor where `/proc/self/fd` works, else (the fallback, where descriptors cannot be verified) by the real path
 * that was checked when it was opened.
 */
export class Folder {
  private open = true;

  constructor(
    /** The descriptor the children are named through; -1 in the fallback (children named by real path). */
    readonly fd: number,
    /** The real path when it was opened and verified. */
    readonly real: string,
    /** Close `fd` on `close()`; false when another owner closes it. */
    private readonly owned = true,
  ) {}

  /** A path naming `name` in this folder (or the folder itself): resolved from the folder, not from its old path. */
  path(name?: string): string {
    if (this.fd >= 0) return pathAt(this.fd, name);
    return name === undefined ? this.real : path.join(this.real, name);
  }

  close(): void {
    if (this.open && this.owned && this.fd >= 0) closeSync(this.fd);
    this.open = false;
  }
}

/** `fs.open` as a promise of the numeric descriptor. */
export function openFd(file: string, flags: number, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    open(file, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}
