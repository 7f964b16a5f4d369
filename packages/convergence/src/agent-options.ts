import { type ChatMessage, type ChatModel, type ChatRequest, type RunBudget, runBudgetIssue } from '@unity/core';
import type { AgentListener } from './agent-events';
import type { ContextOptions } from './context-compaction';
import { ConvergenceError } from './errors';
import type { StuckOptions } from './stuck-detector';
import type { AgentToolExecutor } from './tool-executor';

export interface AgentOptions {
  /** Any chat model: the router, or an adapter of your own. */
  model: ChatModel;
  /** The tools to offer and run (`createToolExecutor()` from `@unity/tools`). */
  tools: AgentToolExecutor;
  /** The task, sent as the user message. */
  task: string;
  /** A system prompt placed first. */
  system?: string;
  /** Earlier messages, placed between the system prompt and the task. */
  history?: ChatMessage[];
  /** Further request fields sent with every model call (temperature, maxOutputTokens …). */
  request?: Omit<ChatRequest, 'messages' | 'tools' | 'signal'>;
  /** The workspace root the tools run in: paths in calls are resolved against it before calls are compared. */
  root?: string;
  /** Hard limit on model calls (default 1000, the seed's `cloud_llm.max_iterations`). The last is made without tools. */
  maxIterations?: number;
  /** Tool-call counts at which reminders of rising firmness are injected (default 50, 100, 200, 500). */
  convergenceWarnings?: readonly number[];
  /** Repetition thresholds, or `false` to turn stuck detection off. */
  stuck?: StuckOptions | false;
  /**
   * The run's limits (`@unity/core`'s `RunBudget`): `maxTotalTokens`, `maxWallTimeMs` (the in-flight model call
   * included), `maxCostUsd` priced by `prices`; each stops the run with its own reason (`budget_tokens`, `budget_time`,
   * `budget_cost`).
   */
  budget?: RunBudget;
  /**
   * Context compaction, on by default: before a model call whose estimated prompt passes the budget, old tool results
   * become stubs and then old turns one note, keeping the system prompt, the task and the recent messages intact (event
   * `compacted`). `false` sends the whole conversation every time.
   */
  context?: ContextOptions | false;
  /** How many recent calls reminders summarise (default 30). */
  activityWindow?: number;
  /** Tools counted as writes in reminders (default `write_file`). */
  writeTools?: readonly string[];
  /** Stops the run promptly, cancelling the in-flight model call: stop reason `aborted`. */
  signal?: AbortSignal;
  onEvent?: AgentListener;
}

const positiveInteger = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n > 0;

/** Throws a `ConvergenceError` naming the first option the loop cannot run with. */
export function validateAgentOptions(options: AgentOptions): void {
  const fail = (path: string, expected: string, got: unknown) => {
    throw new ConvergenceError({
      code: 'INVALID_OPTIONS',
      message: `agent option ${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
      fix: `pass ${expected} as ${path}, or leave it out for the default`,
    });
  };
  if (typeof options.model?.chat !== 'function') fail('model', 'a ChatModel (an object with chat())', options.model);
  if (typeof options.tools?.execute !== 'function' || typeof options.tools?.definitions !== 'function') {
    fail('tools', 'a tool executor (definitions() and execute())', typeof options.tools);
  }
  if (typeof options.task !== 'string' || options.task.trim() === '') fail('task', 'a non-empty string', options.task);
  if (options.maxIterations !== undefined && !positiveInteger(options.maxIterations)) {
    fail('maxIterations', 'a positive integer', options.maxIterations);
  }
  options.convergenceWarnings?.forEach((n, i) => {
    if (!positiveInteger(n)) fail(`convergenceWarnings[${i}]`, 'a positive integer', n);
  });
  if (options.stuck) {
    for (const [key, value] of Object.entries(options.stuck)) {
      if (value !== undefined && !positiveInteger(value)) fail(`stuck.${key}`, 'a positive integer', value);
    }
  }
  if (options.activityWindow !== undefined && !positiveInteger(options.activityWindow)) {
    fail('activityWindow', 'a positive integer', options.activityWindow);
  }
  if (options.context !== undefined && options.context !== false) {
    if (typeof options.context !== 'object' || options.context === null) {
      fail('context', 'an object ({ contextLength, maxPromptTokens, keepRecentMessages }) or false', options.context);
    }
    for (const [key, value] of Object.entries(options.context)) {
      if (value !== undefined && !positiveInteger(value)) fail(`context.${key}`, 'a positive integer', value);
    }
  }
  const issue = runBudgetIssue(options.budget ?? undefined);
  if (issue) fail(`budget.${issue.path}`, issue.expected, issue.got);
}
