import { type RunBudget, type TokenPrice, UnityError } from '@unity/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { positiveInteger, positiveNumber } from './cli-process';

/** The budget flags of `unity run` and `unity evolve`, as commander parses them: one meaning on both. */
export interface BudgetFlags {
  maxTotalTokens?: number;
  maxSeconds?: number;
  maxCostUsd?: number;
  pricePer1k?: TokenPrice;
}

/** `IN,OUT`: US dollars per 1000 input and per 1000 output tokens. */
export function tokenPrice(value: string): TokenPrice {
  const parts = value.split(',').map((p) => p.trim());
  const [inputPer1k, outputPer1k] = parts.map(Number);
  const price = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n >= 0;
  if (parts.length !== 2 || parts.some((p) => p === '') || !price(inputPer1k) || !price(outputPer1k)) {
    throw new InvalidArgumentError(
      `expected IN,OUT: US dollars per 1000 input and per 1000 output tokens, e.g. 0.3,1.2 (got "${value}")`,
    );
  }
  return { inputPer1k, outputPer1k };
}

/** Flags of earlier releases: hidden, and refused with the new name rather than reported as unknown. */
const renamedFlags: Record<string, string> = {
  '--max-tokens': '--max-total-tokens (the whole run’s tokens; the cap on each reply is cloud_llm.max_tokens)',
  '--budget-tokens': '--max-total-tokens',
  '--budget-time': '--max-seconds',
  '--budget-cost': '--max-cost-usd',
};

/** Adds the run budget flags, worded the same on every command that takes them. */
export function addBudgetOptions(command: Command): Command {
  command
    .option(
      '--max-total-tokens <n>',
      'stop once the run’s model calls used this many tokens, input and output together (a budget, not a reply cap)',
      positiveInteger,
    )
    .option('--max-seconds <n>', 'stop once the run has taken this many seconds of wall time', positiveNumber)
    .option(
      '--max-cost-usd <usd>',
      'stop once the run’s model calls cost this many US dollars (needs --price-per-1k or configured prices)',
      positiveNumber,
    )
    .option(
      '--price-per-1k <in,out>',
      'US dollars per 1000 input and per 1000 output tokens of every model call, e.g. 0.3,1.2 (prices the run)',
      tokenPrice,
    );
  for (const [old, now] of Object.entries(renamedFlags)) {
    command.addOption(
      new Option(`${old} <value>`).hideHelp().argParser(() => {
        throw new InvalidArgumentError(`${old} was renamed ${now}`);
      }),
    );
  }
  return command;
}

/**
 * The run's budget: `base` (the config's, a preset's) with the flags laid over it. `--price-per-1k` prices every
 * model (`*`) in place of configured prices. A cost limit without prices is refused: it would never stop the run.
 */
export function budgetFromFlags(flags: BudgetFlags, base: RunBudget = {}): RunBudget {
  const budget: RunBudget = { ...base };
  if (flags.maxTotalTokens !== undefined) budget.maxTotalTokens = flags.maxTotalTokens;
  if (flags.maxSeconds !== undefined) budget.maxWallTimeMs = flags.maxSeconds * 1000;
  if (flags.maxCostUsd !== undefined) budget.maxCostUsd = flags.maxCostUsd;
  if (flags.pricePer1k !== undefined) budget.prices = { '*': flags.pricePer1k };
  if (budget.maxCostUsd !== undefined && Object.keys(budget.prices ?? {}).length === 0) {
    throw new UnityError({
      code: 'INVALID_OPTION',
      message:
        '--max-cost-usd needs --price-per-1k: without prices every call costs $0 and the budget never stops the run',
      fix: 'add --price-per-1k IN,OUT with your model’s US dollars per 1000 input and output tokens, e.g. --price-per-1k 0.3,1.2',
    });
  }
  return budget;
}
