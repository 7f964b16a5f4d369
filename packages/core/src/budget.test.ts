import { describe, expect, it } from 'vitest';
import { BudgetTracker, budgetStopReasons, costUsdOf, type PriceTable, runBudgetIssue } from './budget';

const usage = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
});
const prices: PriceTable = {
  'MiniMax-M2': { inputPer1k: 0.3, outputPer1k: 1.2 },
  '*': { inputPer1k: 1, outputPer1k: 1 },
};

describe('costUsdOf', () => {
  it('prices input and output tokens per 1k by the model, else by "*"', () => {
    expect(costUsdOf(usage(1000, 500), 'MiniMax-M2', prices)).toBeCloseTo(0.9);
    expect(costUsdOf(usage(1000, 1000), 'other', prices)).toBeCloseTo(2);
  });

  it('is 0 for a model without a price, and without prices', () => {
    expect(costUsdOf(usage(1000, 1000), 'qwen', { 'MiniMax-M2': { inputPer1k: 1, outputPer1k: 1 } })).toBe(0);
    expect(costUsdOf(usage(1000, 1000), 'qwen', undefined)).toBe(0);
  });
});

describe('BudgetTracker', () => {
  it('adds usage and other spending, and reports it', () => {
    let now = 100;
    const tracker = new BudgetTracker({ prices }, () => now);
    expect(tracker.addUsage(usage(1000, 500), 'MiniMax-M2')).toBeCloseTo(0.9);
    tracker.addSpent({ totalTokens: 10, costUsd: 0.1 });
    now = 350;
    const spent = tracker.spent();
    expect(spent.totalTokens).toBe(1510);
    expect(spent.costUsd).toBeCloseTo(1);
    expect(spent.elapsedMs).toBe(250);
  });

  it('names the token limit once the total reaches it', () => {
    const tracker = new BudgetTracker({ maxTotalTokens: 100 });
    tracker.addUsage(usage(50, 49), 'm');
    expect(tracker.limitReached()).toBeUndefined();
    tracker.addUsage(usage(1, 0), 'm');
    expect(tracker.limitReached()).toBe('budget_tokens');
  });

  it('names the cost limit once the priced calls reach it', () => {
    const tracker = new BudgetTracker({ maxCostUsd: 1, prices });
    tracker.addUsage(usage(500, 0), 'other');
    expect(tracker.limitReached()).toBeUndefined();
    tracker.addUsage(usage(0, 500), 'other');
    expect(tracker.limitReached()).toBe('budget_cost');
  });

  it('names the time limit once the wall time reaches it, and counts down what is left', () => {
    let now = 0;
    const tracker = new BudgetTracker({ maxWallTimeMs: 1000 }, () => now);
    now = 400;
    expect(tracker.remainingMs()).toBe(600);
    expect(tracker.limitReached()).toBeUndefined();
    now = 1200;
    expect(tracker.remainingMs()).toBe(0);
    expect(tracker.limitReached()).toBe('budget_time');
  });

  it('reaches no limit without a budget', () => {
    const tracker = new BudgetTracker();
    tracker.addUsage(usage(1e9, 1e9), 'm');
    expect(tracker.limitReached()).toBeUndefined();
    expect(tracker.remainingMs()).toBeUndefined();
  });

  it('has one stop reason per limit', () => {
    expect(budgetStopReasons).toEqual(['budget_tokens', 'budget_time', 'budget_cost']);
  });
});

describe('runBudgetIssue', () => {
  it('accepts a complete budget and no budget', () => {
    expect(runBudgetIssue({ maxTotalTokens: 10, maxWallTimeMs: 5, maxCostUsd: 1, prices })).toBeUndefined();
    expect(runBudgetIssue(undefined)).toBeUndefined();
  });

  it('names a limit that is not a positive number', () => {
    expect(runBudgetIssue({ maxWallTimeMs: 0 })).toEqual({
      path: 'maxWallTimeMs',
      expected: 'a positive number',
      got: 0,
    });
  });

  it('names a key that is not a limit, such as a renamed one', () => {
    expect(runBudgetIssue({ maxTokens: 100 } as never)).toEqual({
      path: 'maxTokens',
      expected: 'a key of RunBudget (maxTotalTokens, maxWallTimeMs, maxCostUsd, prices)',
      got: 100,
    });
  });

  it('names a negative price', () => {
    expect(runBudgetIssue({ prices: { m: { inputPer1k: -1, outputPer1k: 0 } } })?.path).toBe('prices.m.inputPer1k');
  });

  it('refuses a cost limit without prices', () => {
    expect(runBudgetIssue({ maxCostUsd: 1 })?.path).toBe('prices');
  });
});
