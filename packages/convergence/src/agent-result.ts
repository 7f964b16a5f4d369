import type { BudgetStopReason, ChatMessage, Usage } from '@unity/core';
import type { ToolCallOutcomes } from './activity-summary';
import type { StuckPattern } from './stuck-detector';

export type StopReason =
  /** The model answered without tool calls. */
  | 'completed'
  /** The hard limit was reached; the model was asked once more, without tools, for its final answer. */
  | 'max_iterations'
  /** A repetition continued after the nudge about it; `stuck` names it. */
  | 'stuck'
  /** A limit of the run's `RunBudget` was reached: `budget_tokens`, `budget_time` or `budget_cost`. */
  | BudgetStopReason
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The model could not be reached (every provider failed) or the executor broke; `error` says why. */
  | 'error';

export interface AgentResult {
  /** The final answer, or for a run stopped early the model's last text. */
  answer: string;
  stopReason: StopReason;
  /** Model calls made. */
  iterations: number;
  /** Executed tool calls, counted by tool name. */
  toolCalls: Record<string, number>;
  /** Executed tool calls that succeeded and failed: the run's tool-call success rate. */
  toolOutcomes: ToolCallOutcomes;
  usage: Usage;
  /** US dollars under the budget's prices (0 without prices). */
  costUsd: number;
  elapsedMs: number;
  /** The whole conversation: system, task, assistant turns (with reasoning and tool calls), tool results, reminders. */
  messages: ChatMessage[];
  stuck?: StuckPattern;
  error?: { code: string; message: string };
}
