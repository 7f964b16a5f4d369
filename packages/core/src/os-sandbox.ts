import { existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hasErrorMarker, UnityError } from './errors';
import { type ProcessGroupOptions, type ProcessGroupResult, runProcessGroup } from './process-group';

/**
 * How commands that a model or an evolution candidate controls are confined:
 * - `bwrap`: by the kernel, through bubblewrap (Linux) — own user, PID, IPC, UTS and network namespaces, only the
 *   allowed folders visible, no capabilities. The default.
 * - `none`: not at all beyond the caller's own checks. Only for machines without bubblewrap, accepting the risk.
 */
export type OsSandboxMode = 'bwrap' | 'none';

/** What a sandboxed command may see and do. Every path not named here is absent inside. */
export interface OsSandboxPolicy {
  /** Folders the command may write, bound read-write at the same path inside. */
  writable: readonly string[];
  /** Paths inside the writable folders that stay read-only (a tool's own state, `.git/hooks`); bound when they exist. */
  readOnly?: readonly string[];
  /** Further host paths bound read-only at the same path (a toolchain outside `/usr`). */
  readable?: readonly string[];
  /** Share the host's network (default false: a network namespace of its own, with loopback only). */
  network?: boolean;
  /** The bubblewrap program. Default `bwrap` from the PATH. */
  bwrapPath?: string;
}

/** The user id and group id a sandboxed command has inside its user namespace. */
const SANDBOX_UID = 1000;
/** `HOME` inside the sandbox: a folder of the sandbox's own empty `/tmp`. */
export const SANDBOX_HOME = '/tmp/home';

const usrMergedDirs = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * What programs need from `/etc` to run (the dynamic linker's cache, certificates, time zones, name service switch),
 * bound read-only when present. No credential files: `/etc/shadow`, `/etc/ssh`, `/etc/npmrc`, `/etc/gitconfig` … stay
 * out. `passwd` and `group` are the sandbox's own.
 */
const etcFiles = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'ssl/certs',
  'ca-certificates',
  'ca-certificates.conf',
  'localtime',
  'timezone',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'protocols',
  'services',
  'mime.types',
  'magic',
  'magic.mime',
  'os-release',
  'debian_version',
  'locale.alias',
];
/** Name resolution, bound only when the network is shared. */
const etcNetworkFiles = ['hosts', 'resolv.conf'];

export type OsSandboxErrorCode = 'SANDBOX_UNAVAILABLE';

const osSandboxMarker = Symbol.for('unity.error.OsSandboxError');

/** No OS sandbox can be had here (bubblewrap missing, user namespaces refused, not Linux). */
export class OsSandboxError extends UnityError<OsSandboxErrorCode> {
  protected readonly [osSandboxMarker] = true;
  override readonly name = 'OsSandboxError';

  static override isInstance(error: unknown): error is OsSandboxError {
    return hasErrorMarker(error, osSandboxMarker);
  }
}

let identityDir: string | undefined;
/** A folder with the sandbox's `/etc/passwd` and `/etc/group`: its own user, root and nobody, nobody else's. */
function identityFiles(): { passwd: string; group: string } {
  if (identityDir === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'unity-sandbox-id-'));
    identityDir = dir;
    // One folder per process, removed with it, so that runs do not pile them up in the temp folder.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const passwd = path.join(identityDir, 'passwd');
  const group = path.join(identityDir, 'group');
  if (!existsSync(passwd)) {
    writeFileSync(
      passwd,
      `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nunity:x:${SANDBOX_UID}:${SANDBOX_UID}:unity sandbox:${SANDBOX_HOME}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
      { mode: 0o444 },
    );
    writeFileSync(group, `root:x:0:\nunity:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`, { mode: 0o444 });
  }
  return { passwd, group };
}

/**
 * The folder Node is installed in when it is not under `/usr` (nvm, a tarball, the `node` npm package), so that
 * `node` runs inside the sandbox as it does outside. Never a top-level folder such as `/` or `/opt` itself.
 */
function nodeInstallDir(): string[] {
  const prefix = path.dirname(path.dirname(realpathSync(process.execPath)));
  if (prefix === '/usr' || prefix.startsWith('/usr/') || prefix.split('/').filter(Boolean).length < 2) return [];
  return [prefix];
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The real paths of the read-only paths that exist and lie inside a writable folder. One that is a link (or runs
 * through one) is protected at its target when that is inside too, and never bound where it points outside: bwrap
 * would otherwise mount the outside target into the sandbox.
 */
function protectedTargets(policy: OsSandboxPolicy): string[] {
  const targets: string[] = [];
  for (const p of policy.readOnly ?? []) {
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      continue;
    }
    const inside = policy.writable.some((w) => {
      const rel = path.relative(w, real);
      return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    });
    if (inside) targets.push(real);
  }
  return targets;
}

/**
 * bubblewrap's arguments for `policy`, ending in `--`: the system folders read-only, the writable folders read-write,
 * an empty private `/tmp` with `HOME` in it, fresh `/dev` and `/proc`, and new user (uid 1000), PID, IPC, UTS, cgroup
 * and — unless `network` — network namespaces. The sandbox dies with its parent; it starts a new session (no
 * terminal injection); it keeps no capabilities. The environment is not set here: bubblewrap hands its own to the
 * command, so spawn it with the environment the command may have (see `sandboxEnv`).
 */
function bwrapArgs(policy: OsSandboxPolicy): string[] {
  const args: string[] = ['--ro-bind', '/usr', '/usr'];
  for (const dir of usrMergedDirs) {
    if (isSymlink(dir)) args.push('--symlink', `usr${dir}`, dir);
    else if (existsSync(dir)) args.push('--ro-bind', dir, dir);
  }
  const ids = identityFiles();
  args.push('--ro-bind', ids.passwd, '/etc/passwd', '--ro-bind', ids.group, '/etc/group');
  for (const name of [...etcFiles, ...(policy.network ? etcNetworkFiles : [])]) {
    args.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);
  }
  for (const dir of [...nodeInstallDir(), ...(policy.readable ?? [])]) args.push('--ro-bind-try', dir, dir);
  args.push('--tmpfs', '/tmp', '--dir', SANDBOX_HOME, '--dev', '/dev', '--proc', '/proc');
  for (const dir of policy.writable) args.push('--bind', dir, dir);
  for (const p of protectedTargets(policy)) args.push('--ro-bind', p, p);
  args.push(
    '--unshare-all',
    ...(policy.network ? ['--share-net'] : []),
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--hostname',
    'unity-sandbox',
    '--cap-drop',
    'ALL',
    '--die-with-parent',
    '--new-session',
    '--',
  );
  return args;
}

/**
 * argv run inside the OS sandbox: `bwrap <policy> -- argv…` with `cwd` as the working folder inside (it must lie in
 * a bound folder). With mode `none`, argv unchanged.
 */
export function sandboxedArgv(
  argv: readonly string[],
  mode: OsSandboxMode,
  policy: OsSandboxPolicy,
  cwd: string,
): string[] {
  if (mode === 'none') return [...argv];
  const args = bwrapArgs(policy);
  args.splice(args.length - 1, 0, '--chdir', cwd);
  return [policy.bwrapPath ?? 'bwrap', ...args, ...argv];
}

/**
 * Run argv in the OS sandbox (or unconfined with mode `none`) as a process group, and return only once every process
 * it started is gone: bubblewrap reports the PID of the sandbox's first process (`--json-status-fd`), whose exit the
 * kernel completes only after every other process of its PID namespace has died — so nothing the command left can
 * still touch its files when the caller looks at them.
 */
export async function runConfined(
  argv: readonly string[],
  mode: OsSandboxMode,
  policy: OsSandboxPolicy,
  options: ProcessGroupOptions,
): Promise<ProcessGroupResult> {
  if (mode === 'none') return runProcessGroup(argv, options);
  const confined = sandboxedArgv(argv, mode, policy, options.cwd);
  confined.splice(1, 0, '--json-status-fd', '3');
  let status = '';
  const result = await runProcessGroup(confined, {
    ...options,
    onFd3: (chunk) => {
      status += chunk;
    },
  });
  const pid = Number(/"child-pid":\s*(\d+)/.exec(status)?.[1]);
  if (pid > 0) await namespaceGone(pid);
  return result;
}

/** Wait (bounded) until the sandbox's first process has exited: gone, or a zombie whose exit is complete. */
async function namespaceGone(pid: number, limitMs = 5000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    let state: string | undefined;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Variables a sandboxed command gets from its host's environment, unless told more. */
const defaultSandboxEnvNames = ['PATH', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TERM', 'TZ'] as const;

const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The environment a sandboxed command starts with: an allow-list, not a deny-list. `PATH` (a standard one when the
 * host has none), `LANG`, `LC_*`, `TERM`, `TZ` and the names in `passthrough` are copied from `base`; `HOME` and
 * `TMPDIR` point into the sandbox. Nothing else of the host's environment — `DATABASE_URL`, `AWS_ACCESS_KEY_ID`,
 * `NPM_AUTH` … — reaches the command.
 */
export function sandboxEnv(
  base: Record<string, string | undefined>,
  options: { passthrough?: readonly string[]; home?: string; tmp?: string } = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...defaultSandboxEnvNames, ...(options.passthrough ?? [])]) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= defaultPath;
  env.HOME = options.home ?? SANDBOX_HOME;
  env.TMPDIR = options.tmp ?? '/tmp';
  return env;
}

/** What `probeOsSandbox` found. */
export type OsSandboxProbe =
  | { available: true; mode: 'bwrap'; program: string; version: string }
  | { available: false; reason: string; fix: string };

const probes = new Map<string, Promise<OsSandboxProbe>>();

const installFix =
  'install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`), or set ' +
  '`tools.sandbox: none` to run commands unconfined and accept the risk';

/** A short program's exit code and output (both streams), or the error that kept it from starting. */
async function run(argv: string[]): Promise<{ code: number | null; output: string; error?: Error }> {
  try {
    const result = await runProcessGroup(argv, {
      cwd: tmpdir(),
      env: sandboxEnv({}),
      timeoutMs: 10_000,
      headBytes: 2000,
      tailBytes: 0,
    });
    return { code: result.exitCode, output: result.stdout.trim() };
  } catch (error) {
    return { code: null, output: '', error: error as Error };
  }
}

/**
 * Whether the OS sandbox works on this machine: bubblewrap is installed and may create the namespaces Unity asks for
 * (some containers and hardened kernels refuse unprivileged user namespaces). Runs `true` inside the same sandbox
 * shape the commands get; the answer is kept for the process's lifetime.
 */
export function probeOsSandbox(options: { bwrapPath?: string } = {}): Promise<OsSandboxProbe> {
  const program = options.bwrapPath ?? 'bwrap';
  let probe = probes.get(program);
  if (!probe) {
    probe = probeOnce(program);
    probes.set(program, probe);
  }
  return probe;
}

async function probeOnce(program: string): Promise<OsSandboxProbe> {
  if (process.platform !== 'linux') {
    return {
      available: false,
      reason: `the OS sandbox needs Linux (bubblewrap); this is ${process.platform}`,
      fix: 'run on Linux, or set `tools.sandbox: none` to run commands unconfined and accept the risk',
    };
  }
  const version = await run([program, '--version']);
  if (version.error) {
    return {
      available: false,
      reason: `bubblewrap (${program}) is not installed (${(version.error as NodeJS.ErrnoException).code ?? version.error.message})`,
      fix: installFix,
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'unity-sandbox-probe-'));
  const argv = sandboxedArgv(['/bin/sh', '-c', 'exit 0'], 'bwrap', { writable: [dir], bwrapPath: program }, dir);
  const trial = await run(argv);
  rmSync(dir, { recursive: true, force: true });
  if (trial.code !== 0) {
    return {
      available: false,
      reason: `bubblewrap is installed but cannot create the sandbox here: ${trial.output || trial.error?.message || `exit code ${trial.code}`}`,
      fix: 'allow unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`; in a container, run it with user namespaces allowed), or set `tools.sandbox: none` and accept the risk',
    };
  }
  return { available: true, mode: 'bwrap', program, version: version.output.replace(/^bubblewrap\s*/, '') };
}

/**
 * The mode to run with, or the error saying why none can be had: `bwrap` when it works here; `none` only when asked
 * for. Callers warn about `none` where a person will read it.
 */
export async function requireOsSandbox(
  mode: OsSandboxMode,
  options: { bwrapPath?: string; what?: string } = {},
): Promise<OsSandboxMode> {
  if (mode === 'none') return 'none';
  const probe = await probeOsSandbox(options);
  if (probe.available) return 'bwrap';
  throw new OsSandboxError({
    code: 'SANDBOX_UNAVAILABLE',
    message: `${options.what ?? 'commands'} must run in an OS sandbox, and none is available: ${probe.reason}`,
    fix: probe.fix,
  });
}

/** The line to print wherever commands run unconfined (`sandbox: none`). */
export const unconfinedWarning =
  'warning: tools.sandbox is none: commands and evaluators run WITHOUT an OS sandbox, with your user’s rights over ' +
  'every file and the network. Install bubblewrap and remove `sandbox: none` to confine them.';
