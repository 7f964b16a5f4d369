import type { Usage } from '@unity/core';

/** Price of 1,000 tokens, in whatever currency the budget's `maxCost` uses. */
export interface TokenPrice {
  inputPer1k: number;
  outputPer1k: number;
}

/** Limits on one run, each its own stop reason. */
export interface AgentBudget {
  /** Total tokens (input + output) over all model calls: stop reason `budget_tokens`. */
  maxTokens?: number;
  /** Wall time in milliseconds, the in-flight model call included: stop reason `budget_time`. */
  maxTimeMs?: number;
  /** Cost computed from `prices`: stop reason `budget_cost`. */
  maxCost?: number;
  /**
   * Prices by model name as responses report it (`MiniMax-M2`); `*` applies to any other model. A model with no
   * price costs nothing (a local model).
   */
  prices?: Record<string, TokenPrice>;
}

/** The cost of one call's usage under `prices` (0 when the model has no price). */
export function costOf(usage: Usage, model: string, prices: Record<string, TokenPrice> | undefined): number {
  const price = prices?.[model] ?? prices?.['*'];
  if (price === undefined) return 0;
  return (usage.inputTokens / 1000) * price.inputPer1k + (usage.outputTokens / 1000) * price.outputPer1k;
}

/** The token or cost limit that `spent` reached, if any (time is enforced by a timer in the loop). */
export function budgetReached(
  spent: { usage: Usage; cost: number },
  budget: AgentBudget | undefined,
): 'budget_tokens' | 'budget_cost' | undefined {
  if (budget?.maxTokens !== undefined && spent.usage.totalTokens >= budget.maxTokens) return 'budget_tokens';
  if (budget?.maxCost !== undefined && spent.cost >= budget.maxCost) return 'budget_cost';
  return undefined;
}
