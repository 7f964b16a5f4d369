import type { ChatModel, ChatRequest, ChatResponse, RunBudget } from '@unity/core';
import { type DomainLimits, type DomainPreset, type DomainRole, isDomainRole } from './domain-preset';

/** Which model an agent uses: a router role (resolved through the config's `models:`), or an explicit model string. */
export type AgentModel = { kind: 'role'; role: DomainRole } | { kind: 'model'; model: string };

/** A ready agent configuration: what `unity run --domain NAME` hands to the agent loop. */
export interface AgentConfig {
  /** The preset it came from. */
  domain: string;
  model: AgentModel;
  /** The preset's tools that exist, in the preset's order. */
  tools: string[];
  /** The preset's tools that do not exist here (left out, so the model is never offered them). */
  missingTools: string[];
  systemPrompt: string;
  temperature: number;
  limits: DomainLimits;
}

export interface SpawnDomainOptions {
  /** The tools that exist (names, or objects with a `name` such as tool definitions). */
  availableTools: Iterable<string | { name: string }>;
}

/** Turn a preset into an agent configuration, keeping only the allowed tools that exist. */
export function spawnDomain(preset: DomainPreset, options: SpawnDomainOptions): AgentConfig {
  const available = new Set<string>();
  for (const tool of options.availableTools) available.add(typeof tool === 'string' ? tool : tool.name);
  const tools = [...new Set(preset.tools)];
  return {
    domain: preset.name,
    model: isDomainRole(preset.model) ? { kind: 'role', role: preset.model } : { kind: 'model', model: preset.model },
    tools: tools.filter((t) => available.has(t)),
    missingTools: tools.filter((t) => !available.has(t)),
    systemPrompt: preset.systemPrompt,
    temperature: preset.temperature,
    limits: { ...preset.limits, convergenceWarnings: [...preset.limits.convergenceWarnings] },
  };
}

/** Where a domain agent's model comes from: a router (its roles, or any model string), seen only through this. */
export interface DomainModels {
  forRole(role: DomainRole): ChatModel;
  chat(request: ChatRequest & { model: string }): Promise<ChatResponse>;
}

/** A domain agent as the agent loop takes it: the model, the tools it may call, and the loop's options. */
export interface DomainAgent {
  domain: string;
  model: ChatModel;
  /** The preset's tools that exist here. */
  tools: string[];
  /** The preset's tools that do not (never offered to the model). */
  missingTools: string[];
  /** `runAgent`'s options that the preset decides (a caller's flags may override them). */
  options: {
    system: string;
    request: { temperature: number; maxOutputTokens?: number };
    maxIterations: number;
    convergenceWarnings: number[];
    budget?: RunBudget;
  };
}

/**
 * The agent a preset describes, with its model bound: a role goes through `models.forRole`, a model string through
 * `models.chat`. What the preset decides — prompt, temperature, per-call output cap, iteration limit, reminders, wall
 * time — becomes the agent loop's options, so every host runs a domain the same way.
 */
export function agentFromDomain(
  preset: DomainPreset,
  options: SpawnDomainOptions & { models: DomainModels },
): DomainAgent {
  const config = spawnDomain(preset, options);
  const choice = config.model;
  const model: ChatModel =
    choice.kind === 'role'
      ? options.models.forRole(choice.role)
      : { chat: (request) => options.models.chat({ ...request, model: choice.model }) };
  const { limits } = config;
  return {
    domain: config.domain,
    model,
    tools: config.tools,
    missingTools: config.missingTools,
    options: {
      system: config.systemPrompt,
      request: {
        temperature: config.temperature,
        ...(limits.maxOutputTokens ? { maxOutputTokens: limits.maxOutputTokens } : {}),
      },
      maxIterations: limits.maxIterations,
      convergenceWarnings: limits.convergenceWarnings,
      ...(limits.wallTimeSeconds ? { budget: { maxWallTimeMs: limits.wallTimeSeconds * 1000 } } : {}),
    },
  };
}
