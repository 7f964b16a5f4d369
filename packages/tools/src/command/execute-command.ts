import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  OsSandboxError,
  type OsSandboxMode,
  type OsSandboxPolicy,
  type ProcessGroupResult,
  requireOsSandbox,
  runConfined,
  sandboxEnv,
} from '@unity/core';
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';
import { CommandPolicy, type CommandPolicyOptions } from './command-policy';

export interface ExecuteCommandOptions {
  policy?: CommandPolicyOptions;
  /**
   * How commands are confined: `bwrap` (default) runs each in a bubblewrap sandbox — the workspace read-write, the
   * system folders read-only, an empty private `/tmp` and `HOME`, nothing else of the host, an unprivileged user, own
   * PID/IPC/network namespaces — and refuses to run when bubblewrap cannot be used here; `none` runs them unconfined
   * (accepting the risk). The policy vets every command first either way.
   */
  sandbox?: OsSandboxMode;
  /** Let commands reach the network (default false: a network namespace of their own). */
  network?: boolean;
  /**
   * The host's environment, which commands see only through an allow-list: `PATH`, `LANG`, `LC_*`, `TERM`, `TZ` and
   * the names in `envPassthrough`; `HOME` and `TMPDIR` point into the sandbox. Pass `process.env` to let those through
   * (the `unity` CLI does). Default: none, so commands get a standard `PATH` only.
   */
  env?: Record<string, string | undefined>;
  /** Further variable names copied from `env` (e.g. `NODE_OPTIONS`). Secrets should stay out. */
  envPassthrough?: readonly string[];
  /** Host folders outside the workspace that commands may read (a toolchain outside `/usr`). */
  readablePaths?: readonly string[];
  /** The bubblewrap program. Default `bwrap` from the PATH. */
  bwrapPath?: string;
  /** Timeout when the call gives none. Default 60,000 ms. */
  defaultTimeoutMs?: number;
  /** Largest timeout a call may ask for. Default 600,000 ms. */
  maxTimeoutMs?: number;
  /** Bytes of output kept from the start and from the end. Default 20,000 and 10,000. */
  headBytes?: number;
  tailBytes?: number;
  /** Time between SIGTERM and SIGKILL to the process group. Default 2,000 ms. */
  killGraceMs?: number;
}

const schema = z.object({
  command: z
    .string()
    .min(1)
    .max(10_000)
    .describe('One program with its arguments, e.g. "git status" (no pipes or operators)'),
  cwd: z.string().optional().describe('Folder to run in, relative to the workspace root (default: the root)'),
  timeout_ms: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Kill the command after this many milliseconds (default 60000)'),
});

/** Paths inside the workspace that commands may read but not change, besides the sandbox's protected state. */
const gitControls = ['.git/hooks', '.git/config'];

/**
 * `execute_command`: one vetted program run in the workspace, confined by the OS sandbox, with a timeout that kills
 * everything it started, capped output and an allow-listed environment.
 */
export function executeCommandTool(sandbox: Sandbox, options: ExecuteCommandOptions = {}) {
  const policy = new CommandPolicy(sandbox, options.policy);
  const mode = options.sandbox ?? 'bwrap';
  const env = commandEnv(options, mode, policy.scrubNames);
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
  const maxTimeoutMs = options.maxTimeoutMs ?? 600_000;
  /** The OS sandbox's policy for a command (checked to work here once), the workspace's protected paths read-only. */
  async function confinement(): Promise<OsSandboxPolicy> {
    try {
      await requireOsSandbox(mode, {
        what: 'execute_command',
        ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
      });
    } catch (error) {
      if (!OsSandboxError.isInstance(error)) throw error;
      throw new ToolError({ code: 'SANDBOX_UNAVAILABLE', message: error.message, fix: error.fix, cause: error });
    }
    // Made before the command runs, so that a command cannot create the tools' state folder with its own content.
    if (mode !== 'none') await mkdir(path.join(sandbox.root, '.unity'), { recursive: true });
    return {
      writable: [sandbox.root],
      readOnly: [...sandbox.protectedPaths, ...gitControls].map((p) => path.join(sandbox.root, p)),
      network: options.network ?? false,
      ...(options.readablePaths ? { readable: options.readablePaths } : {}),
      ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
    };
  }

  return defineTool({
    name: 'execute_command',
    description:
      'Run one program with arguments in the workspace (no shell: no pipes, redirections, ";" or "&&"). Returns the ' +
      'exit code and the output (long output keeps its start and end). Some programs and flags are refused; others ' +
      "need the user's approval.",
    schema,
    async execute({ command, cwd, timeout_ms }, context) {
      const folder = await sandbox.resolveExisting(cwd ?? '.', 'execute_command');
      if (!folder.stats.isDirectory()) {
        throw new ToolError({
          code: 'FAILED',
          message: `execute_command: cwd ${folder.rel} is not a folder`,
          fix: 'pass a folder as cwd',
        });
      }
      const decision = await policy.check(command, folder.real);
      if (decision.action === 'deny') {
        throw new ToolError({
          code: 'DENIED',
          message: `execute_command: refused ${JSON.stringify(command)}: ${decision.reason}`,
          fix: 'use the file tools (read_file, list_files, search_files, write_file) or another command',
        });
      }
      if (decision.action === 'approve') {
        const approved = context.approve ? await context.approve(`${decision.reason}: ${command}`) : false;
        if (!approved) {
          throw new ToolError({
            code: 'NOT_APPROVED',
            message: `execute_command: ${JSON.stringify(command)} needs approval (${decision.reason}) and ${context.approve ? 'was not approved' : 'no approver is configured'}`,
            fix: 'do without this command, or ask the user to allow it in the command policy',
          });
        }
      }
      const timeoutMs = Math.min(timeout_ms ?? defaultTimeoutMs, maxTimeoutMs);
      const sandboxPolicy = await confinement();
      let outcome: ProcessGroupResult;
      try {
        outcome = await runConfined(decision.argv, mode, sandboxPolicy, {
          cwd: folder.real,
          env,
          timeoutMs,
          headBytes: options.headBytes ?? 20_000,
          tailBytes: options.tailBytes ?? 10_000,
          killGraceMs: options.killGraceMs ?? 2_000,
          signal: context.signal,
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(decision.argv[0] as string, error);
        throw error;
      }
      context.signal?.throwIfAborted();
      if (mode === 'bwrap' && outcome.exitCode === 1 && /^bwrap: execvp [^\n]*No such file/.test(outcome.stdout)) {
        throw notFound(decision.argv[0] as string);
      }
      if (outcome.timedOut) {
        throw new ToolError({
          code: 'TIMEOUT',
          message: `execute_command: ${JSON.stringify(command)} did not finish within timeout_ms=${timeoutMs}; its process group was killed. Output so far:\n${outcome.stdout}`,
          fix: 'raise timeout_ms, or run something quicker',
        });
      }
      const status = outcome.exitCode !== null ? `exit code ${outcome.exitCode}` : `killed by ${outcome.exitSignal}`;
      return `${status}\n${outcome.stdout}`;
    },
  });
}

/** The allow-listed environment of every command; names the policy scrubs are dropped even when passed through. */
function commandEnv(
  options: ExecuteCommandOptions,
  mode: OsSandboxMode,
  scrubNames: readonly string[],
): Record<string, string> {
  const base = options.env ?? {};
  const env = sandboxEnv(base, {
    passthrough: options.envPassthrough ?? [],
    // Unconfined, there is no private HOME: the host's is the only one that exists.
    ...(mode === 'none' ? { home: base.HOME ?? tmpdir(), tmp: base.TMPDIR ?? tmpdir() } : {}),
  });
  const scrubbed = new Set(scrubNames.map((n) => n.toUpperCase()));
  for (const name of Object.keys(env)) if (scrubbed.has(name.toUpperCase())) delete env[name];
  return env;
}

function notFound(program: string, cause?: unknown): ToolError {
  return new ToolError({
    code: 'NOT_FOUND',
    message: `execute_command: program "${program}" not found`,
    fix: 'check the name, or use a program that is installed',
    ...(cause ? { cause } : {}),
  });
}
