import { describe, expect, it } from 'vitest';
import { budgetReached, costOf } from './budget';

const usage = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
});

describe('costOf', () => {
  const prices = { 'MiniMax-M2': { inputPer1k: 0.3, outputPer1k: 1.2 } };

  it('prices input and output tokens per thousand for the model that answered', () => {
    expect(costOf(usage(2000, 500), 'MiniMax-M2', prices)).toBeCloseTo(0.6 + 0.6);
  });

  it('charges nothing for a model without a price, unless a "*" price is set', () => {
    expect(costOf(usage(2000, 500), 'qwen2.5-coder:7b', prices)).toBe(0);
    expect(costOf(usage(1000, 0), 'other', { '*': { inputPer1k: 2, outputPer1k: 0 } })).toBe(2);
    expect(costOf(usage(1000, 0), 'other', undefined)).toBe(0);
  });
});

describe('budgetReached', () => {
  it('names the token limit once the total reaches it', () => {
    expect(budgetReached({ usage: usage(60, 39), cost: 0 }, { maxTokens: 100 })).toBeUndefined();
    expect(budgetReached({ usage: usage(60, 40), cost: 0 }, { maxTokens: 100 })).toBe('budget_tokens');
  });

  it('names the cost limit once the cost reaches it', () => {
    expect(budgetReached({ usage: usage(1, 1), cost: 0.49 }, { maxCost: 0.5 })).toBeUndefined();
    expect(budgetReached({ usage: usage(1, 1), cost: 0.5 }, { maxCost: 0.5 })).toBe('budget_cost');
  });

  it('reaches nothing without a budget', () => {
    expect(budgetReached({ usage: usage(1e9, 1e9), cost: 1e9 }, undefined)).toBeUndefined();
  });
});
