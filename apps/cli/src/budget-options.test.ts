import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addBudgetOptions, budgetFromFlags, tokenPrice } from './budget-options';

const parse = (args: string[]) => {
  const command = addBudgetOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }));
  command.parse(args, { from: 'user' });
  return command.opts();
};

describe('budget options', () => {
  it('parse into a RunBudget: tokens, seconds as milliseconds, US dollars and a price for every model', () => {
    const flags = parse([
      '--max-total-tokens',
      '5000',
      '--max-seconds',
      '90',
      '--max-cost-usd',
      '2',
      '--price-per-1k',
      '0.3,1.2',
    ]);
    expect(budgetFromFlags(flags)).toEqual({
      maxTotalTokens: 5000,
      maxWallTimeMs: 90_000,
      maxCostUsd: 2,
      prices: { '*': { inputPer1k: 0.3, outputPer1k: 1.2 } },
    });
  });

  it('lay the flags over a configured budget, keeping its prices unless --price-per-1k is given', () => {
    const base = { maxTotalTokens: 10, maxCostUsd: 1, prices: { m: { inputPer1k: 1, outputPer1k: 1 } } };
    expect(budgetFromFlags({ maxTotalTokens: 20 }, base)).toEqual({ ...base, maxTotalTokens: 20 });
  });

  it('refuse a cost limit without prices, naming the fix', () => {
    expect(() => budgetFromFlags({ maxCostUsd: 1 })).toThrow('--max-cost-usd needs --price-per-1k');
  });

  it('refuse the flags of earlier releases with their new names', () => {
    expect(() => parse(['--max-tokens', '5'])).toThrow('--max-tokens was renamed --max-total-tokens');
    expect(() => parse(['--budget-time', '5'])).toThrow('--budget-time was renamed --max-seconds');
  });

  it('read a price as IN,OUT and refuse anything else', () => {
    expect(tokenPrice(' 0.3 , 1.2 ')).toEqual({ inputPer1k: 0.3, outputPer1k: 1.2 });
    expect(() => tokenPrice('0.3')).toThrow('expected IN,OUT');
    expect(() => tokenPrice('-1,1')).toThrow('expected IN,OUT');
  });
});
