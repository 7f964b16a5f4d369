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
