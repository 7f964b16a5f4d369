import type { RunBudget } from '@unity/core';
import { z } from 'zod';
import type { AgentOptions } from './agent-options';
import type { ContextOptions } from './context-compaction';
import type { StuckOptions } from './stuck-detector';

/** The loop's settings as a config file holds them (the seed's `configs/system.yaml`, plus an optional `agent:`). */
export type AgentSettings = Pick<
  AgentOptions,
  'maxIterations' | 'convergenceWarnings' | 'stuck' | 'budget' | 'context'
>;

const count = z.number().int().positive();

/** A key of an earlier release: refused with its new name (it would otherwise be a bare "unrecognized key"). */
const renamed = (to: string) =>
  z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      ctx.addIssue({
        code: 'custom',
        message: `renamed ${to} (a run's budget; max_tokens is the cap on each reply, under cloud_llm)`,
        params: { fix: `write ${to} instead` },
      });
    });

/**
 * The `agent:` section of the Unity config: `stuck: {repeated_call, repeated_failure, alternation_steps,
 * empty_replies}` (or `stuck: false`), `budget: {max_total_tokens, max_seconds, max_cost_usd,
 * prices: {<model>: {input_per_1k, output_per_1k}}}` (a `RunBudget`; the run's budget, not `cloud_llm.max_tokens`,
 * the cap on each reply) and `context: {max_prompt_tokens, keep_recent_messages}` (or `context: false` to
 * turn compaction off). Give it to the router's `loadConfig({ sections: { agent: agentConfigSection } })`
 * so that its errors name the file, line and field like the rest of the config.
 */
export const agentConfigSection = z
  .strictObject({
    stuck: z
      .union([
        z.literal(false),
        z.strictObject({
          repeated_call: count.optional(),
          repeated_failure: count.optional(),
          alternation_steps: count.optional(),
          empty_replies: count.optional(),
        }),
      ])
      .optional(),
    budget: z
      .strictObject({
        max_total_tokens: count.optional(),
        max_seconds: z.number().positive().optional(),
        max_cost_usd: z.number().positive().optional(),
        max_tokens: renamed('max_total_tokens'),
        max_cost: renamed('max_cost_usd'),
        prices: z
          .record(
            z.string(),
            z.strictObject({
              input_per_1k: z.number().nonnegative().default(0),
              output_per_1k: z.number().nonnegative().default(0),
            }),
          )
          .optional(),
      })
      .refine((budget) => budget.max_cost_usd === undefined || Object.keys(budget.prices ?? {}).length > 0, {
        path: ['prices'],
        message: 'max_cost_usd needs prices per 1k tokens for at least one model',
        params: { fix: 'add agent.budget.prices.<model>: {input_per_1k, output_per_1k}, or remove max_cost_usd' },
      })
      .optional(),
    context: z
      .union([
        z.literal(false),
        z.strictObject({ max_prompt_tokens: count.optional(), keep_recent_messages: count.optional() }),
      ])
      .optional(),
  })
  .optional();

export type AgentConfigSection = z.output<typeof agentConfigSection>;

/** The parts of a loaded config the loop reads. */
export interface AgentConfigSource {
  /** The seed's convergence snippet puts it here; it wins over `cloud_llm.max_iterations`. */
  max_iterations?: number;
  cloud_llm?: { max_iterations?: number };
  convergence_warnings?: number[];
  /** `max_context` is the context the local model runs with: compaction's default budget is a share of it. */
  ollama?: { max_context?: number };
  agent?: AgentConfigSection;
}

/**
 * The agent loop's settings from a loaded, validated config: `max_iterations` (top level, else
 * `cloud_llm.max_iterations`; the config schema refuses the two when they differ), `convergence_warnings`,
 * `ollama.max_context` (the context compaction keeps within) and the `agent:` section (see `agentConfigSection`).
 */
export function agentSettingsFromConfig(config: AgentConfigSource): AgentSettings {
  const settings: AgentSettings = {};
  const maxIterations = config.max_iterations ?? config.cloud_llm?.max_iterations;
  if (maxIterations !== undefined) settings.maxIterations = maxIterations;
  if (config.convergence_warnings !== undefined) settings.convergenceWarnings = config.convergence_warnings;
  const { stuck, budget, context } = config.agent ?? {};
  if (context === false) settings.context = false;
  else {
    const options: ContextOptions = {};
    if (config.ollama?.max_context !== undefined) options.contextLength = config.ollama.max_context;
    if (context?.max_prompt_tokens !== undefined) options.maxPromptTokens = context.max_prompt_tokens;
    if (context?.keep_recent_messages !== undefined) options.keepRecentMessages = context.keep_recent_messages;
    if (Object.keys(options).length > 0) settings.context = options;
  }
  if (stuck === false) settings.stuck = false;
  else if (stuck) {
    const options: StuckOptions = {};
    if (stuck.repeated_call !== undefined) options.repeatedCall = stuck.repeated_call;
    if (stuck.repeated_failure !== undefined) options.repeatedFailure = stuck.repeated_failure;
    if (stuck.alternation_steps !== undefined) options.alternationSteps = stuck.alternation_steps;
    if (stuck.empty_replies !== undefined) options.emptyReplies = stuck.empty_replies;
    settings.stuck = options;
  }
  if (budget) {
    const limits: RunBudget = {};
    if (budget.max_total_tokens !== undefined) limits.maxTotalTokens = budget.max_total_tokens;
    if (budget.max_seconds !== undefined) limits.maxWallTimeMs = budget.max_seconds * 1000;
    if (budget.max_cost_usd !== undefined) limits.maxCostUsd = budget.max_cost_usd;
    if (budget.prices) {
      limits.prices = Object.fromEntries(
        Object.entries(budget.prices).map(([model, p]) => [
          model,
          { inputPer1k: p.input_per_1k, outputPer1k: p.output_per_1k },
        ]),
      );
    }
    settings.budget = limits;
  }
  return settings;
}
