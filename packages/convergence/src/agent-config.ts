import type { AgentOptions } from './agent-options';
import type { AgentBudget, TokenPrice } from './budget';
import { ConvergenceError } from './errors';
import type { StuckOptions } from './stuck-detector';

/** The loop's settings as a config file holds them (the seed's `configs/system.yaml`, plus an optional `agent:`). */
export type AgentSettings = Pick<AgentOptions, 'maxIterations' | 'convergenceWarnings' | 'stuck' | 'budget'>;

type Path = string;

/** Readers of untyped config values that fail with a `ConvergenceError` naming `source` and the path. */
function readers(source: string) {
  const invalid = (path: Path, expected: string, got: unknown): never => {
    throw new ConvergenceError({
      code: 'INVALID_OPTIONS',
      message: `${source}: ${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
      fix: `set ${path} to ${expected}, or remove it for the default`,
    });
  };
  const section = (value: unknown, path: Path): Record<string, unknown> | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) invalid(path, 'a mapping', value);
    return value as Record<string, unknown>;
  };
  const only = (map: Record<string, unknown>, path: Path, keys: readonly string[]): void => {
    for (const key of Object.keys(map)) {
      if (keys.includes(key)) continue;
      throw new ConvergenceError({
        code: 'INVALID_OPTIONS',
        message: `${source}: ${path}.${key}: unknown setting (known: ${keys.join(', ')})`,
        fix: `rename it to one of the known settings, or remove it`,
      });
    }
  };
  const number = (value: unknown, path: Path, kind: 'integer' | 'positive' | 'non-negative'): number | undefined => {
    if (value === undefined) return undefined;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (kind === 'integer' ? Number.isInteger(value) && value > 0 : kind === 'positive' ? value > 0 : value >= 0);
    if (!ok) invalid(path, kind === 'integer' ? 'a positive integer' : `a ${kind} number`, value);
    return value as number;
  };
  return { invalid, section, only, number };
}

/**
 * The agent loop's settings from a loaded config: `cloud_llm.max_iterations`, `convergence_warnings`, and the optional
 * `agent:` section (`stuck: {repeated_call, repeated_failure, alternation_steps, empty_replies}` or `stuck: false`,
 * `budget: {max_tokens, max_seconds, max_cost, prices: {<model>: {input_per_1k, output_per_1k}}}`). An invalid value
 * is a `ConvergenceError` naming `source` (the config file) and its path.
 */
export function agentSettingsFromConfig(config: Record<string, unknown>, source = 'config'): AgentSettings {
  const { invalid, section, only, number } = readers(source);
  const settings: AgentSettings = {};
  const cloud = section(config.cloud_llm, 'cloud_llm');
  const maxIterations = number(cloud?.max_iterations, 'cloud_llm.max_iterations', 'integer');
  if (maxIterations !== undefined) settings.maxIterations = maxIterations;
  const warnings = config.convergence_warnings;
  if (warnings !== undefined) {
    const list: unknown[] = Array.isArray(warnings)
      ? warnings
      : invalid('convergence_warnings', 'a list of tool-call counts', warnings);
    settings.convergenceWarnings = list.map((n, i) => number(n, `convergence_warnings[${i}]`, 'integer') as number);
  }
  const agent = section(config.agent, 'agent');
  if (!agent) return settings;
  only(agent, 'agent', ['stuck', 'budget']);
  if (agent.stuck === false) settings.stuck = false;
  else {
    const stuck = section(agent.stuck, 'agent.stuck');
    if (stuck) {
      const keys = {
        repeated_call: 'repeatedCall',
        repeated_failure: 'repeatedFailure',
        alternation_steps: 'alternationSteps',
        empty_replies: 'emptyReplies',
      } as const;
      only(stuck, 'agent.stuck', Object.keys(keys));
      const options: StuckOptions = {};
      for (const [key, option] of Object.entries(keys)) {
        const value = number(stuck[key], `agent.stuck.${key}`, 'integer');
        if (value !== undefined) options[option] = value;
      }
      settings.stuck = options;
    }
  }
  const budgetSection = section(agent.budget, 'agent.budget');
  if (budgetSection) {
    only(budgetSection, 'agent.budget', ['max_tokens', 'max_seconds', 'max_cost', 'prices']);
    const budget: AgentBudget = {};
    const maxTokens = number(budgetSection.max_tokens, 'agent.budget.max_tokens', 'integer');
    const maxSeconds = number(budgetSection.max_seconds, 'agent.budget.max_seconds', 'positive');
    const maxCost = number(budgetSection.max_cost, 'agent.budget.max_cost', 'positive');
    if (maxTokens !== undefined) budget.maxTokens = maxTokens;
    if (maxSeconds !== undefined) budget.maxTimeMs = maxSeconds * 1000;
    if (maxCost !== undefined) budget.maxCost = maxCost;
    const prices = section(budgetSection.prices, 'agent.budget.prices');
    if (prices) {
      budget.prices = {};
      for (const [model, value] of Object.entries(prices)) {
        const path = `agent.budget.prices.${model}`;
        const price = section(value, path) ?? invalid(path, 'a mapping {input_per_1k, output_per_1k}', value);
        only(price, path, ['input_per_1k', 'output_per_1k']);
        budget.prices[model] = {
          inputPer1k: number(price.input_per_1k ?? 0, `${path}.input_per_1k`, 'non-negative'),
          outputPer1k: number(price.output_per_1k ?? 0, `${path}.output_per_1k`, 'non-negative'),
        } as TokenPrice;
      }
    }
    if (budget.maxCost !== undefined && Object.keys(budget.prices ?? {}).length === 0) {
      invalid('agent.budget.prices', 'prices per 1k tokens for at least one model when max_cost is set', undefined);
    }
    settings.budget = budget;
  }
  return settings;
}
