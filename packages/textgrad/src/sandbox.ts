import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { OsSandboxError, type OsSandboxMode, requireOsSandbox, runConfined, sandboxEnv } from '@unity/core';
import { EvolutionError } from './errors';

/** Who the process runs as with `sandbox: 'none'`: `auto` drops to `nobody` (65534) when the caller is root. */
export type SandboxUser = 'auto' | 'inherit' | { uid: number; gid: number };

export interface SandboxOptions {
  /**
   * How evaluations are confined: `bwrap` (default) runs each in a fresh bubblewrap sandbox — only its own folder
   * writable, the system folders read-only, an empty private `/tmp`, no network, an unprivileged user, a PID namespace
   * that dies with it — and refuses to run when bubblewrap cannot be used here; `none` only gives it its own folder,
   * process group and user (accepting the risk).
   */
  sandbox?: OsSandboxMode;
  /** Let evaluations reach the network (default false). */
  network?: boolean;
  /** Kill every process of the evaluation after this long. Default 60 000 ms. */
  timeoutMs?: number;
  /** Keep at most this many bytes of each of stdout and stderr (the tail). Default 1 MiB. */
  maxOutputBytes?: number;
  /**
   * The host environment, seen only through an allow-list: `PATH`, `LANG`, `LC_*`, `TERM`, `TZ` and the names in
   * `envPassthrough`; `HOME` is the evaluation's folder. Default: empty (a standard `PATH` only); pass `process.env`
   * (as the `unity` CLI does) to let those names through. Secrets, `DATABASE_URL`, the caller's folders … never reach
   * a candidate.
   */
  env?: Record<string, string | undefined>;
  /** Further variable names copied from `env`. */
  envPassthrough?: readonly string[];
  /** Host folders evaluations may read besides the system's (a toolchain outside `/usr`). */
  readablePaths?: readonly string[];
  /** With `sandbox: 'none'`, who runs the evaluation. Default `auto`. */
  user?: SandboxUser;
  /** Where the temporary folders go. Default: the OS temp folder. */
  tempRoot?: string;
  /** The bubblewrap program. Default `bwrap` from the PATH. */
  bwrapPath?: string;
}

export interface SandboxRun {
  /** A shell command; the candidate's path is appended as its last argument. */
  command: string;
  /** The candidate, written into the sandbox folder under `fileName`. */
  fileName: string;
  source: string;
  /** Further files copied into the sandbox (relative path → content): the evaluator script, tests, fixtures. */
  files?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

export interface SandboxResult {
  exitCode: number | null;
  /** The signal that ended the process, if any. */
  exitSignal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when output past `maxOutputBytes` was dropped. */
  truncated: boolean;
}

/**
 * Run an evaluator command against a candidate in a throw-away copy: its own folder (removed afterwards), a fresh OS
 * sandbox (see `SandboxOptions.sandbox`) in which every process it starts dies at the timeout or when it exits, an
 * allow-listed environment and capped output. A hostile candidate cannot leave a process behind, touch another
 * evaluation's files, write outside its folder, reach the network or read the caller's environment.
 */
export async function runSandboxed(run: SandboxRun, options: SandboxOptions = {}): Promise<SandboxResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
  const mode = await sandboxMode(options);
  const user = mode === 'none' ? resolveUser(options.user ?? 'auto') : undefined;
  if (run.signal?.aborted) throw aborted();
  const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'unity-eval-'));
  try {
    const candidatePath = join(dir, safeRelative(run.fileName, 'fileName'));
    for (const [path, content] of Object.entries(run.files ?? {})) {
      const target = join(dir, safeRelative(path, `files["${path}"]`));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    await mkdir(dirname(candidatePath), { recursive: true });
    await writeFile(candidatePath, run.source);
    if (user) await chownTree(dir, user.uid, user.gid);
    return await execute(run, candidatePath, dir, { ...options, mode, timeoutMs, maxOutputBytes, user });
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function execute(
  run: SandboxRun,
  candidatePath: string,
  dir: string,
  o: SandboxOptions & {
    mode: OsSandboxMode;
    timeoutMs: number;
    maxOutputBytes: number;
    user: { uid: number; gid: number } | undefined;
  },
): Promise<SandboxResult> {
  const argv = ['/bin/sh', '-c', `${run.command} "$@"`, 'sh', candidatePath];
  const policy = {
    writable: [dir],
    network: o.network ?? false,
    ...(o.readablePaths ? { readable: o.readablePaths } : {}),
    ...(o.bwrapPath ? { bwrapPath: o.bwrapPath } : {}),
  };
  let result: Awaited<ReturnType<typeof runConfined>>;
  try {
    result = await runConfined(argv, o.mode, policy, {
      cwd: dir,
      env: sandboxEnv(o.env ?? {}, {
        passthrough: o.envPassthrough ?? [],
        home: dir,
        tmp: o.mode === 'none' ? dir : '/tmp',
      }),
      timeoutMs: o.timeoutMs,
      headBytes: 0,
      tailBytes: o.maxOutputBytes,
      mergeStderr: false,
      truncationNote: false,
      ...(o.user ?? {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
  } catch (error) {
    throw new EvolutionError({
      code: 'EVALUATION_FAILED',
      message: `could not start the evaluator command "${run.command}": ${(error as Error).message}`,
      fix: 'check that /bin/sh exists and the command is installed',
      cause: error,
    });
  }
  if (result.aborted) throw aborted();
  const { exitCode, exitSignal, stdout, stderr, timedOut, truncated } = result;
  return { exitCode, exitSignal, stdout, stderr, timedOut, truncated };
}

/** The mode to run with; `bwrap` only once it is known to work here. */
async function sandboxMode(options: SandboxOptions): Promise<OsSandboxMode> {
  try {
    return await requireOsSandbox(options.sandbox ?? 'bwrap', {
      what: 'evaluators',
      ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
    });
  } catch (error) {
    if (!OsSandboxError.isInstance(error)) throw error;
    throw new EvolutionError({ code: 'SANDBOX_UNAVAILABLE', message: error.message, fix: error.fix, cause: error });
  }
}

function resolveUser(user: SandboxUser): { uid: number; gid: number } | undefined {
  if (user === 'inherit') return undefined;
  if (user === 'auto') return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  return user;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    await chown(join(entry.parentPath, entry.name), uid, gid);
  }
}

function safeRelative(path: string, where: string): string {
  const normal = normalize(path);
  if (path === '' || isAbsolute(path) || normal === '..' || normal.startsWith(`..${sep}`)) {
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message: `${where}: "${path}" must be a relative path inside the sandbox folder`,
      fix: 'give a path like "eval.mjs" or "tests/check.js"',
    });
  }
  return normal;
}

function aborted(): EvolutionError {
  return new EvolutionError({ code: 'ABORTED', message: 'the evaluation was aborted' });
}
