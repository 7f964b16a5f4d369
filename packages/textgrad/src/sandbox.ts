import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { runProcessGroup, scrubSecrets } from '@unity/core';
import { EvolutionError } from './errors';

/** Who the sandboxed process runs as: `auto` drops to `nobody` (65534) when the caller is root. */
export type SandboxUser = 'auto' | 'inherit' | { uid: number; gid: number };

export interface SandboxOptions {
  /** Kill the whole process group after this long. Default 60 000 ms. */
  timeoutMs?: number;
  /** Keep at most this many bytes of each of stdout and stderr (the tail). Default 1 MiB. */
  maxOutputBytes?: number;
  /**
   * The environment to start from, before secrets are removed. Default: empty — the command gets only `HOME` and
   * `TMPDIR` (its folder), and `/bin/sh` its built-in `PATH`; pass `process.env` (as the `unity` CLI does) to inherit
   * yours. Variables whose names look like secrets (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, `*CREDENTIAL*`) and
   * the caller's folders (`PWD`, `npm_*`, …) are always removed.
   */
  env?: Record<string, string | undefined>;
  /** Default `auto`. */
  user?: SandboxUser;
  /** Where the temporary folders go. Default: the OS temp folder. */
  tempRoot?: string;
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

/** Variables that would tell a candidate where the caller's project is. */
const locationNames = new Set(['PWD', 'OLDPWD', 'INIT_CWD', 'npm_config_local_prefix', 'npm_package_json']);

/** The environment a sandboxed evaluator gets: no secrets, no hint of the caller's folders. */
export function scrubEnv(env: Record<string, string | undefined>, home: string): Record<string, string> {
  const out = scrubSecrets(env);
  for (const name of Object.keys(out)) if (locationNames.has(name) || name.startsWith('npm_')) delete out[name];
  out.HOME = home;
  out.TMPDIR = home;
  return out;
}

/**
 * Run an evaluator command against a candidate in a throw-away copy: its own folder (removed afterwards), its own
 * process group (killed at the timeout and after exit, so strays die too), a scrubbed environment, capped output, and
 * — when the caller is root — an unprivileged user, so a hostile candidate cannot write outside its folder.
 */
export async function runSandboxed(run: SandboxRun, options: SandboxOptions = {}): Promise<SandboxResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
  const user = resolveUser(options.user ?? 'auto');
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
    return await execute(run, candidatePath, dir, { timeoutMs, maxOutputBytes, user, env: options.env });
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function execute(
  run: SandboxRun,
  candidatePath: string,
  dir: string,
  o: {
    timeoutMs: number;
    maxOutputBytes: number;
    user: { uid: number; gid: number } | undefined;
    env: Record<string, string | undefined> | undefined;
  },
): Promise<SandboxResult> {
  let result: Awaited<ReturnType<typeof runProcessGroup>>;
  try {
    result = await runProcessGroup(['/bin/sh', '-c', `${run.command} "$@"`, 'sh', candidatePath], {
      cwd: dir,
      env: scrubEnv(o.env ?? {}, dir),
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
