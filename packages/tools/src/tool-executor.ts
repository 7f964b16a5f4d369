import type { ToolCall, ToolDefinition } from '@unity/core';
import { describeError, formatError, nearestName, raceAbort } from '@unity/core';
import { type BuiltinToolsOptions, builtinTools } from './builtin-tools';
import type { CommandPolicyOptions } from './command/command-policy';
import { parseToolArguments, type Tool, toToolDefinition } from './define-tool';
import { ToolError } from './errors';
import { Sandbox } from './sandbox';
import type { WebSearchOptions } from './web/web-search';

/** What the model sees of one call, and what the host records. */
export interface ToolResult {
  toolCallId: string;
  name: string;
  ok: boolean;
  /** What the model sees: the tool's output, or the error message with its fix. */
  content: string;
  error?: { code: string; message: string };
  /** The content was cut to `maxResultChars`. */
  truncated?: boolean;
  ms: number;
}

/** One event when a call starts and one when it finishes, for apps and the audit trail. */
export type ToolEvent =
  | { type: 'start'; toolCallId: string; name: string; runId?: string }
  | {
      type: 'finish';
      toolCallId: string;
      name: string;
      runId?: string;
      ok: boolean;
      ms: number;
      errorCode?: string;
      truncated?: boolean;
    };

export interface ToolExecutorOptions {
  /** The workspace root every tool is confined to. */
  root: string;
  /** The tools offered. Default: the built-in tools configured for `root`. */
  tools?: Tool[];
  commandPolicy?: CommandPolicyOptions;
  /** Asked before a command the policy does not allow on its own; without it such commands are refused. */
  approve?: (request: { call: ToolCall; reason: string }) => Promise<boolean>;
  /** Longest a single call may take. Default 120,000 ms. */
  callTimeoutMs?: number;
  /** Longest content handed to the model; longer results are cut with a note. Default 30,000 characters. */
  maxResultChars?: number;
  webSearch?: WebSearchOptions;
  /** The memory log, relative to the root. Default `.unity/memory.jsonl`. */
  memoryFile?: string;
  /** Further settings of execute_command (base environment, timeouts, output cap). */
  command?: BuiltinToolsOptions['command'];
  onEvent?: (event: ToolEvent) => void;
}

export interface ToolExecutor {
  /** The sandbox of the root. */
  readonly sandbox: Sandbox;
  readonly tools: readonly Tool[];
  /** The tools as model APIs list them (JSON Schema from the zod schemas). */
  definitions(): ToolDefinition[];
  /**
   * Carry out the calls; results come back in call order. Consecutive read-only calls run in parallel; a call that
   * changes something runs alone, after what came before it. Never throws for a model's bad call: every failure is
   * an `ok: false` result whose content tells the model what went wrong and how to fix it.
   */
  execute(calls: readonly ToolCall[], options?: { signal?: AbortSignal; callId?: string }): Promise<ToolResult[]>;
}

export function createToolExecutor(options: ToolExecutorOptions): ToolExecutor {
  const sandbox = new Sandbox(options.root);
  const tools =
    options.tools ??
    builtinTools(sandbox, {
      commandPolicy: options.commandPolicy,
      command: options.command,
      webSearch: options.webSearch,
      memoryFile: options.memoryFile,
    });
  const byName = new Map(tools.map((t) => [t.name, t]));
  const callTimeoutMs = options.callTimeoutMs ?? 120_000;
  const maxResultChars = options.maxResultChars ?? 30_000;
  const emit = (event: ToolEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // an observer's failure is not the call's
    }
  };

  async function runOne(
    call: ToolCall,
    outer: AbortSignal | undefined,
    runId: string | undefined,
  ): Promise<ToolResult> {
    const started = performance.now();
    const ids = { toolCallId: call.id, name: call.name, ...(runId ? { runId } : {}) };
    emit({ type: 'start', ...ids });
    let result: ToolResult;
    try {
      const content = await invoke(call, outer, runId);
      const truncated = content.length > maxResultChars;
      result = {
        toolCallId: call.id,
        name: call.name,
        ok: true,
        content: truncated
          ? `${content.slice(0, maxResultChars)}\n[result truncated: the first ${maxResultChars} of ${content.length} characters are shown; ask for less (a narrower path, pattern, range or max)]`
          : content,
        ...(truncated ? { truncated } : {}),
        ms: 0,
      };
    } catch (error) {
      const known = ToolError.isInstance(error);
      const code = known ? error.code : 'FAILED';
      const message = known ? error.message : `${call.name}: ${describeError(error)}`;
      // The model reads the fix too: it is how it corrects its next call.
      const content = known ? formatError(error) : message;
      result = { toolCallId: call.id, name: call.name, ok: false, content, error: { code, message }, ms: 0 };
    }
    result.ms = Math.round((performance.now() - started) * 1000) / 1000;
    emit({
      type: 'finish',
      ...ids,
      ok: result.ok,
      ms: result.ms,
      ...(result.error ? { errorCode: result.error.code } : {}),
      ...(result.truncated ? { truncated: true } : {}),
    });
    return result;
  }

  async function invoke(call: ToolCall, outer: AbortSignal | undefined, runId: string | undefined): Promise<string> {
    const tool = byName.get(call.name);
    if (!tool) {
      const suggestion = nearestName(call.name, [...byName.keys()]);
      throw new ToolError({
        code: 'UNKNOWN_TOOL',
        message: `unknown tool ${JSON.stringify(call.name)}${suggestion ? `; did you mean ${suggestion}?` : ''}`,
        fix: `call one of: ${[...byName.keys()].join(', ')}`,
      });
    }
    const args = parseToolArguments(tool, call.arguments);
    if (outer?.aborted) throw abortError(outer.reason, call.name);
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new ToolError({
            code: 'TIMEOUT',
            message: `${call.name} did not finish within ${callTimeoutMs} ms (callTimeoutMs) and was stopped`,
            fix: 'ask for less work in one call (a narrower path or pattern, a shorter command)',
          }),
        ),
      callTimeoutMs,
    );
    const signal = outer ? AbortSignal.any([outer, timeout.signal]) : timeout.signal;
    const approve = options.approve
      ? (reason: string) => (options.approve as NonNullable<ToolExecutorOptions['approve']>)({ call, reason })
      : undefined;
    try {
      const work = tool.execute(args, { signal, call, ...(runId ? { runId } : {}), ...(approve ? { approve } : {}) });
      // A tool that ignores its signal still loses the race at the timeout or the caller's abort.
      const value = await raceAbort(work, signal, (reason) => abortError(reason, call.name));
      return typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? '');
    } catch (error) {
      if (signal.aborted) throw abortError(signal.reason, call.name);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    sandbox,
    tools,
    definitions: () => tools.map((t) => toToolDefinition(t)),
    async execute(calls, executeOptions = {}) {
      const results: ToolResult[] = new Array(calls.length);
      let batch: Promise<void>[] = [];
      for (const [index, call] of calls.entries()) {
        const run = () =>
          runOne(call, executeOptions.signal, executeOptions.callId).then((r) => {
            results[index] = r;
          });
        if (byName.get(call.name)?.readOnly) {
          batch.push(run());
        } else {
          await Promise.all(batch);
          batch = [];
          await run();
        }
      }
      await Promise.all(batch);
      return results;
    },
  };
}

function abortError(reason: unknown, tool: string): ToolError {
  if (ToolError.isInstance(reason)) return reason;
  return new ToolError({
    code: 'ABORTED',
    message: `${tool} was cancelled by the caller`,
    fix: 'run it again if it is still needed',
    cause: reason,
  });
}
