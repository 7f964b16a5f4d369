import type { Usage } from './messages';

/** What one model charges, in US dollars per 1,000 tokens. */
export interface TokenPrice {
  inputPer1k: number;
  outputPer1k: number;
}

/**
 * Prices by model name as responses report it (`MiniMax-M2`); `*` applies to any other model. A model with no price
 * costs nothing (a local model).
 */
export type PriceTable = Record<string, TokenPrice>;

/**
 * The limits of one whole run (an agent run, an evolution run), each with its own stop reason. Not to be confused
 * with `maxOutputTokens`, the cap on one model call's reply.
 */
export interface RunBudget {
  /** Total tokens (input + output) over all model calls of the run: stop reason `budget_tokens`. */
  maxTotalTokens?: number;
  /** Wall time of the run in milliseconds: stop reason `budget_time`. */
  maxWallTimeMs?: number;
  /** US dollars spent, computed from `prices`: stop reason `budget_cost`. Needs `prices`. */
  maxCostUsd?: number;
  /** Prices the run's model calls; without it every call costs $0. */
  prices?: PriceTable;
}

/** The stop reasons of a spent budget, the same in every loop that takes a `RunBudget`. */
export const budgetStopReasons = ['budget_tokens', 'budget_time', 'budget_cost'] as const;
export type BudgetStopReason = (typeof budgetStopReasons)[number];

/** What a run has spent so far. */
export interface BudgetSpent {
  totalTokens: number;
  costUsd: number;
  elapsedMs: number;
}

/** The US dollars of one call's usage under `prices` (0 when the model has no price). */
export function costUsdOf(usage: Usage, model: string, prices: PriceTable | undefined): number {
  const price = prices?.[model] ?? prices?.['*'];
  if (price === undefined) return 0;
  return (usage.inputTokens / 1000) * price.inputPer1k + (usage.outputTokens / 1000) * price.outputPer1k;
}

/** A field of a `RunBudget` that is not what it must be: its path, what was expected, and what was given. */
export interface RunBudgetIssue {
  path: string;
  expected: string;
  got: unknown;
}

const budgetKeys = ['maxTotalTokens', 'maxWallTimeMs', 'maxCostUsd', 'prices'];
const positive = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0;
const nonNegative = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * The first problem of `budget`, or undefined when it is valid: no key but the four of `RunBudget` (a misspelt or
 * renamed limit is never ignored), every limit a positive number, every price a number ≥ 0, and prices for at least
 * one model (or `*`) when `maxCostUsd` is set (else the cost limit never stops a run).
 */
export function runBudgetIssue(budget: RunBudget | undefined): RunBudgetIssue | undefined {
  if (budget === undefined) return undefined;
  if (typeof budget !== 'object' || budget === null) {
    return { path: '', expected: 'an object { maxTotalTokens, maxWallTimeMs, maxCostUsd, prices }', got: budget };
  }
  const unknown = Object.keys(budget).find((key) => !budgetKeys.includes(key));
  if (unknown !== undefined) {
    return { path: unknown, expected: `a key of RunBudget (${budgetKeys.join(', ')})`, got: budget[unknown as never] };
  }
  for (const key of ['maxTotalTokens', 'maxWallTimeMs', 'maxCostUsd'] as const) {
    if (budget[key] !== undefined && !positive(budget[key])) {
      return { path: key, expected: 'a positive number', got: budget[key] };
    }
  }
  for (const [model, price] of Object.entries(budget.prices ?? {})) {
    for (const key of ['inputPer1k', 'outputPer1k'] as const) {
      const value = price?.[key];
      if (!nonNegative(value)) return { path: `prices.${model}.${key}`, expected: 'a number ≥ 0', got: value };
    }
  }
  if (budget.maxCostUsd !== undefined && Object.keys(budget.prices ?? {}).length === 0) {
    return {
      path: 'prices',
      expected: 'US dollars per 1k tokens for at least one model (or "*") when maxCostUsd is set',
      got: budget.prices,
    };
  }
  return undefined;
}

/**
 * Counts what a run spends against its `RunBudget`: tokens and US dollars of each model call, plus what others
 * counted (an evaluator's calls, a resumed log), and the wall time since the tracker was made.
 */
export class BudgetTracker {
  private totalTokens = 0;
  private costUsd = 0;
  private readonly started: number;

  constructor(
    readonly budget: RunBudget = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Adds one model call's usage, priced by the budget's prices; returns that call's cost in US dollars. */
  addUsage(usage: Usage, model: string): number {
    const cost = costUsdOf(usage, model, this.budget.prices);
    this.totalTokens += usage.totalTokens;
    this.costUsd += cost;
    return cost;
  }

  /** Adds tokens and US dollars counted elsewhere. */
  addSpent(spent: { totalTokens?: number; costUsd?: number }): void {
    this.totalTokens += spent.totalTokens ?? 0;
    this.costUsd += spent.costUsd ?? 0;
  }

  spent(): BudgetSpent {
    return { totalTokens: this.totalTokens, costUsd: this.costUsd, elapsedMs: this.now() - this.started };
  }

  /** The wall time left, or undefined without a time limit (never below 0). */
  remainingMs(): number | undefined {
    const max = this.budget.maxWallTimeMs;
    return max === undefined ? undefined : Math.max(0, max - (this.now() - this.started));
  }

  /** The limit the run has reached, if any: tokens first, then cost, then time. */
  limitReached(): BudgetStopReason | undefined {
    const { maxTotalTokens, maxCostUsd, maxWallTimeMs } = this.budget;
    if (maxTotalTokens !== undefined && this.totalTokens >= maxTotalTokens) return 'budget_tokens';
    if (maxCostUsd !== undefined && this.costUsd >= maxCostUsd) return 'budget_cost';
    if (maxWallTimeMs !== undefined && this.now() - this.started >= maxWallTimeMs) return 'budget_time';
    return undefined;
  }
}
