import { isBareOllamaName } from '@unity/core';
import { z } from 'zod';

/** The router roles a preset may name instead of a model string (the seed's `models:` keys). */
export const domainRoles = ['reasoning', 'coding', 'fallback'] as const;
export type DomainRole = (typeof domainRoles)[number];

/** `reasoning` | `coding` | `fallback`, or a model string with its provider prefix (`ollama_chat/qwen2.5-coder:7b`). */
/** A role, a model string, or a bare Ollama name — which becomes the model string `ollama_chat/<name>`. */
export const modelPreferenceSchema = z
  .string()
  .refine(
    (value) =>
      (domainRoles as readonly string[]).includes(value) ||
      /^[a-z][a-z0-9_-]*\/\S+$/.test(value) ||
      isBareOllamaName(value),
    {
      message: `expected a role (${domainRoles.join(', ')}), a model string like ollama_chat/qwen2.5-coder:7b, or an Ollama model name like qwen2.5-coder:7b`,
    },
  )
  .transform((value) =>
    (domainRoles as readonly string[]).includes(value) || value.includes('/') ? value : `ollama_chat/${value}`,
  );

export const domainNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes, starting with a letter');

export const domainLimitsSchema = z.object({
  /** Hard cap on agent-loop iterations (the seed's `cloud_llm.max_iterations`). */
  maxIterations: z.number().int().positive().default(1000),
  /** Iterations at which the loop reminds the model to converge (the seed's `convergence_warnings`). */
  convergenceWarnings: z.array(z.number().int().positive()).default([50, 100, 200, 500]),
  /** Wall-clock budget for one run, when set. */
  wallTimeSeconds: z.number().positive().optional(),
  /** Completion-token cap per model call, when set. */
  maxOutputTokens: z.number().int().positive().optional(),
});

/** A domain preset: which model, which tools, which limits for a kind of task. */
export const domainPresetSchema = z.object({
  name: domainNameSchema,
  description: z.string().min(1),
  /** A router role (`reasoning`, `coding`, `fallback`) or a model string (`ollama_chat/qwen2.5-coder:7b`). */
  model: modelPreferenceSchema,
  /** Tool names the agent may call (filtered to the tools that exist when the domain is spawned). */
  tools: z.array(z.string().min(1)).default([]),
  systemPrompt: z.string().min(1),
  limits: domainLimitsSchema.prefault({}),
  temperature: z.number().min(0).max(2).default(0.2),
  /** Words that make `--domain auto` pick this preset when no model classifies the task. */
  keywords: z.array(z.string().min(1)).default([]),
});

export type DomainPresetInput = z.input<typeof domainPresetSchema>;
export type DomainPreset = z.output<typeof domainPresetSchema>;
export type DomainLimits = DomainPreset['limits'];

export function isDomainRole(value: string): value is DomainRole {
  return (domainRoles as readonly string[]).includes(value);
}
