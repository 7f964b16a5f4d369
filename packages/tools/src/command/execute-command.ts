import { type ProcessGroupResult, runProcessGroup, scrubSecrets } from '@unity/core';
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';
import { CommandPolicy, type CommandPolicyOptions } from './command-policy';

export interface ExecuteCommandOptions {
  policy?: CommandPolicyOptions;
  /**
   * The environment commands start from, before secrets are scrubbed: pass `process.env` to inherit the host's (the
   * `unity` CLI does). Default: only a standard `PATH`, since a library does not read the process environment itself.
   */
  env?: Record<string, string | undefined>;
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

/** What commands get when the host passes no environment. */
const defaultCommandEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/** `execute_command`: one vetted program run in the workspace, with a timeout, capped output and no secrets in its env. */
export function executeCommandTool(sandbox: Sandbox, options: ExecuteCommandOptions = {}) {
  const policy = new CommandPolicy(sandbox, options.policy);
  const baseEnv = options.env ?? defaultCommandEnv;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
  const maxTimeoutMs = options.maxTimeoutMs ?? 600_000;
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
      let outcome: ProcessGroupResult;
      try {
        outcome = await runProcessGroup(decision.argv, {
          cwd: folder.real,
          env: scrubSecrets(baseEnv, policy.scrubNames),
          timeoutMs,
          headBytes: options.headBytes ?? 20_000,
          tailBytes: options.tailBytes ?? 10_000,
          killGraceMs: options.killGraceMs ?? 2_000,
          signal: context.signal,
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ToolError({
            code: 'NOT_FOUND',
            message: `execute_command: program "${decision.argv[0]}" not found`,
            fix: 'check the name, or use a program that is installed',
            cause: error,
          });
        }
        throw error;
      }
      context.signal?.throwIfAborted();
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
