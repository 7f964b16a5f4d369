import path from 'node:path';
import { parse } from 'shell-quote';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';

export interface CommandPolicyOptions {
  /** Programs (argv[0]) that run without approval. Replaces the default list when given. */
  allow?: readonly string[];
  /** Programs that never run. Added to the default list. */
  deny?: readonly string[];
  /** What happens to a program on neither list: ask the host's approve hook (default) or refuse. */
  unknown?: 'approve' | 'deny';
  /** Environment variable names removed from the command's environment, besides *_KEY, *_TOKEN, *_SECRET, *PASSWORD*. */
  scrubEnv?: readonly string[];
}

export type PolicyDecision =
  | { action: 'allow'; argv: string[] }
  | { action: 'approve'; argv: string[]; reason: string }
  | { action: 'deny'; reason: string };

/** Read-only inspection tools (and git and sed, vetted below) that run without approval by default. */
export const DEFAULT_ALLOW = [
  'basename',
  'cat',
  'cmp',
  'cut',
  'date',
  'df',
  'diff',
  'dirname',
  'du',
  'echo',
  'egrep',
  'false',
  'fgrep',
  'file',
  'find',
  'git',
  'grep',
  'head',
  'ls',
  'md5sum',
  'nl',
  'printf',
  'pwd',
  'realpath',
  'rg',
  'sed',
  'sha256sum',
  'sort',
  'stat',
  'tail',
  'tr',
  'tree',
  'true',
  'uniq',
  'wc',
  'which',
] as const;

/** Programs that never run: privilege, raw devices, the machine's state, other processes, remote shells. */
export const DEFAULT_DENY = [
  'chroot',
  'crontab',
  'dd',
  'doas',
  'halt',
  'init',
  'kill',
  'killall',
  'mkfs',
  'mount',
  'nc',
  'ncat',
  'netcat',
  'nsenter',
  'pkill',
  'poweroff',
  'reboot',
  'scp',
  'shutdown',
  'socat',
  'ssh',
  'su',
  'sudo',
  'systemctl',
  'telnet',
  'umount',
] as const;

/** Flags that turn an otherwise harmless program into one that runs commands or writes files anywhere. */
const DANGEROUS_FLAGS: Record<string, readonly string[]> = {
  // Following links would walk out of the workspace through a symlinked folder.
  find: ['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls', '-L', '-follow'],
  rg: ['--pre', '--pre-glob', '-L', '--follow'],
  grep: ['-R', '--dereference-recursive'],
  egrep: ['-R', '--dereference-recursive'],
  fgrep: ['-R', '--dereference-recursive'],
  tree: ['-l'],
  sort: ['--compress-program'],
  date: ['-s', '--set'],
  curl: [
    '-o',
    '--output',
    '-O',
    '--remote-name',
    '--remote-name-all',
    '--output-dir',
    '-K',
    '--config',
    '-T',
    '--upload-file',
    '-D',
    '--dump-header',
    '-c',
    '--cookie-jar',
    '--trace',
    '--trace-ascii',
    '--libcurl',
    '--stderr',
  ],
  wget: [
    '-O',
    '--output-document',
    '-o',
    '--output-file',
    '-a',
    '--append-output',
    '-P',
    '--directory-prefix',
    '-i',
    '--input-file',
    '-e',
    '--execute',
  ],
  tar: [
    '--to-command',
    '--use-compress-program',
    '-I',
    '--checkpoint-action',
    '--info-script',
    '-F',
    '--new-volume-script',
  ],
  rsync: ['-e', '--rsh', '--rsync-path'],
};

/** git options before the subcommand that run programs or rewrite configuration. */
const GIT_GLOBAL_DENY = ['-c', '--config-env', '--exec-path', '--upload-pack', '--receive-pack'];
/** git subcommands that reach the network, change configuration or run other programs: they need approval. */
const GIT_APPROVE = [
  'archive',
  'bisect',
  'clone',
  'config',
  'credential',
  'daemon',
  'difftool',
  'fetch',
  'filter-branch',
  'ls-remote',
  'mergetool',
  'pull',
  'push',
  'remote',
  'send-email',
  'submodule',
];
/** Options of git subcommands that run a program given on the command line. */
const GIT_SUBCOMMAND_DENY: Record<string, readonly string[]> = {
  rebase: ['-x', '--exec'],
  grep: ['-O', '--open-files-in-pager'],
};
/** Programs whose first operand is a pattern or a script, not a path. */
const PATTERN_FIRST = new Set(['grep', 'egrep', 'fgrep', 'rg', 'sed']);

function flagMatches(arg: string, flag: string): boolean {
  if (arg === flag) return true;
  if (flag.startsWith('--')) return arg.startsWith(`${flag}=`);
  if (/^-[A-Za-z]$/.test(flag)) {
    // The letter anywhere in a cluster of short options, which may end in an attached value: `-sSo`, `-ofile`,
    // `-nRm5` (grep -n -R -m 5), `-I./evil`. The letters after the one that takes a value may be that value, so this
    // refuses a little more than getopt would read; never less.
    const letters = /^-([A-Za-z]+)/.exec(arg)?.[1];
    return letters?.includes(flag.slice(1)) ?? false;
  }
  return false;
}

/**
 * Parse a command into argv, refusing what cannot be vetted: shell operators (`;`, `&&`, `|`, `&`, redirections,
 * subshells), `$(…)`, backticks and variable expansion. The argv runs without a shell, so what was vetted is what
 * runs.
 */
export function parseCommand(command: string): string[] {
  const refuse = (what: string) =>
    new ToolError({
      code: 'DENIED',
      message: `execute_command: ${what} cannot be vetted and is not allowed (commands run without a shell)`,
      fix: 'run one simple command per call (program and arguments), and chain calls instead of using operators',
    });
  if (command.includes('\0')) throw refuse('a NUL byte');
  if (command.includes('`')) throw refuse('a backtick (command substitution)');
  const marker = '\u0000var\u0000';
  const tokens = parse(command, () => marker);
  const argv: string[] = [];
  for (const token of tokens) {
    if (typeof token === 'string') {
      if (token.includes(marker)) throw refuse('variable expansion ($NAME)');
      argv.push(token);
    } else if ('op' in token && token.op === 'glob') {
      argv.push(token.pattern); // no shell: passed literally, as when nothing matches
    } else if ('op' in token) {
      throw refuse(`the shell operator "${token.op}"`);
    } else if ('comment' in token) {
      throw refuse('a comment (#)');
    }
  }
  if (argv.length === 0) throw refuse('an empty command');
  return argv;
}

/**
 * Decides whether a command may run: deny list, dangerous flags, paths outside the workspace, allow list, approval.
 * Denials explain why, so the model can choose another way.
 */
export class CommandPolicy {
  private readonly allow: Set<string>;
  private readonly deny: Set<string>;
  private readonly unknown: 'approve' | 'deny';
  readonly scrubNames: readonly string[];

  constructor(
    private readonly sandbox: Sandbox,
    options: CommandPolicyOptions = {},
  ) {
    this.allow = new Set(options.allow ?? DEFAULT_ALLOW);
    this.deny = new Set([...DEFAULT_DENY, ...(options.deny ?? [])]);
    // Stryker disable next-line StringLiteral: only 'deny' is tested for; any other value asks for approval
    this.unknown = options.unknown ?? 'approve';
    this.scrubNames = options.scrubEnv ?? [];
  }

  /** Parse and judge `command`, to be run in `cwd` (a real folder inside the root). */
  async check(command: string, cwd: string): Promise<PolicyDecision> {
    let argv: string[];
    try {
      argv = parseCommand(command);
    } catch (error) {
      if (ToolError.isInstance(error)) return { action: 'deny', reason: error.message };
      throw error;
    }
    const program = argv[0] as string;
    const name = path.basename(program);
    const args = argv.slice(1);
    if (this.deny.has(name) || name.startsWith('mkfs')) {
      return { action: 'deny', reason: `"${name}" is on the deny list` };
    }
    for (const flag of DANGEROUS_FLAGS[name] ?? []) {
      const hit = args.find((arg) => flagMatches(arg, flag));
      if (hit !== undefined)
        return { action: 'deny', reason: `"${name} ${flag}" can run programs or write files; refused` };
    }
    let gitNeedsApproval: string | undefined;
    if (name === 'git') {
      const firstOperand = args.findIndex((a) => !a.startsWith('-'));
      const globals = firstOperand === -1 ? args : args.slice(0, firstOperand);
      const bad = globals.find((arg) => GIT_GLOBAL_DENY.some((flag) => flagMatches(arg, flag)));
      if (bad !== undefined)
        return { action: 'deny', reason: `"git ${bad}" can change how git runs programs; refused` };
      const sub = firstOperand === -1 ? undefined : args[firstOperand];
      const subArgs = firstOperand === -1 ? [] : args.slice(firstOperand + 1);
      const denied = (sub && GIT_SUBCOMMAND_DENY[sub]) || [];
      const runs = subArgs.find((arg) => denied.some((flag) => flagMatches(arg, flag)));
      if (runs !== undefined) {
        return { action: 'deny', reason: `"git ${sub} ${runs}" runs another program; refused` };
      }
      if (sub && GIT_APPROVE.includes(sub))
        gitNeedsApproval = `"git ${sub}" reaches the network or changes configuration`;
    }
    const outside = await this.outsidePath(name, args, cwd);
    if (outside) return { action: 'deny', reason: outside };
    if (name === 'sed' && args.some((a) => flagMatches(a, '-i') || flagMatches(a, '--in-place'))) {
      const intoGit = args.find((a) => a.split('/').includes('.git'));
      if (intoGit) return { action: 'deny', reason: `"sed -i" on ${intoGit}: files under .git are not edited` };
    }
    // GNU sed's --sandbox refuses the e, w and r commands, which run programs or touch other files.
    const vetted = name === 'sed' && !args.includes('--sandbox') ? [program, '--sandbox', ...args] : argv;
    if (program.includes('/')) {
      return {
        action: 'approve',
        argv: vetted,
        reason: `"${program}" is a program named by path, not from the allow list`,
      };
    }
    if (gitNeedsApproval) return { action: 'approve', argv: vetted, reason: gitNeedsApproval };
    if (this.allow.has(name)) return { action: 'allow', argv: vetted };
    if (this.unknown === 'deny') return { action: 'deny', reason: `"${name}" is not on the allow list` };
    return { action: 'approve', argv: vetted, reason: `"${name}" is not on the allow list` };
  }

  /** The first argument that names a path outside the workspace (after realpath), as a reason; else undefined. */
  private async outsidePath(name: string, args: readonly string[], cwd: string): Promise<string | undefined> {
    // With -e/-f the pattern or script is an option's value, so every operand may be a file.
    let patternSkipped = !PATTERN_FIRST.has(name) || args.some((a) => /^(-[ef]|--regexp|--file|--expression)/.test(a));
    for (const arg of args) {
      let candidate: string;
      if (arg.startsWith('--')) {
        const eq = arg.indexOf('=');
        if (eq === -1) continue;
        candidate = arg.slice(eq + 1);
      } else if (arg.startsWith('-') && arg.length > 1) {
        // A value glued to a short option (`-f/etc/passwd`): a path when it has a slash, starts with ~ or is `..`.
        candidate = arg.slice(2);
        if (!candidate.includes('/') && !candidate.startsWith('~') && candidate !== '..') continue;
      } else {
        if (!patternSkipped) {
          patternSkipped = true;
          continue;
        }
        candidate = arg;
      }
      if (candidate === '') continue;
      if (candidate.startsWith('~')) return `argument "${arg}" names a path in a home folder, outside the workspace`;
      try {
        // Stryker disable next-line StringLiteral: the tool name only reaches the message of the error, which is replaced
        await this.sandbox.resolve(candidate, 'execute_command', cwd);
      } catch (error) {
        if (ToolError.isInstance(error) && error.code === 'PATH_OUTSIDE_ROOT') {
          return `argument "${arg}" names a path outside the workspace (allowed root: ${this.sandbox.root})`;
        }
        throw error;
      }
    }
    return undefined;
  }
}
