import { Document, isSeq, visit } from 'yaml';
import { z } from 'zod';
import { type DomainPreset, type DomainPresetInput, domainNameSchema, modelPreferenceSchema } from './domain-preset';

/**
 * A preset as users write it in YAML: snake_case like the seed's `configs/system.yaml`, `model_preference` like the
 * seed's domain spawning engine. Every field is optional here, so that an entry can override some fields of a
 * built-in; a new domain must give `description`, `model_preference` and `system_prompt`.
 */
export const domainEntrySchema = z
  .strictObject({
    name: domainNameSchema,
    description: z.string().min(1),
    model_preference: modelPreferenceSchema,
    tools: z.array(z.string().min(1)),
    system_prompt: z.string().min(1),
    temperature: z.number().min(0).max(2),
    keywords: z.array(z.string().min(1)),
    limits: z
      .strictObject({
        max_iterations: z.number().int().positive(),
        convergence_warnings: z.array(z.number().int().positive()),
        wall_time_seconds: z.number().positive(),
        max_tokens: z.number().int().positive(),
      })
      .partial(),
  })
  .partial();

export type DomainEntry = z.infer<typeof domainEntrySchema>;

/** The YAML field for a preset field, for messages (`systemPrompt` → `system_prompt`). */
const yamlField: Record<string, string> = {
  model: 'model_preference',
  systemPrompt: 'system_prompt',
  maxIterations: 'max_iterations',
  convergenceWarnings: 'convergence_warnings',
  wallTimeSeconds: 'wall_time_seconds',
  maxOutputTokens: 'max_tokens',
};

export function toYamlPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((key) => (typeof key === 'string' ? (yamlField[key] ?? key) : Number(key)));
}

/** A preset in its YAML shape (what `unity domains show` prints and what a domain file holds). */
export function presetToEntry(preset: DomainPreset): DomainEntry {
  const { limits } = preset;
  return {
    name: preset.name,
    description: preset.description,
    model_preference: preset.model,
    tools: [...preset.tools],
    system_prompt: preset.systemPrompt,
    temperature: preset.temperature,
    keywords: [...preset.keywords],
    limits: {
      max_iterations: limits.maxIterations,
      convergence_warnings: [...limits.convergenceWarnings],
      ...(limits.wallTimeSeconds === undefined ? {} : { wall_time_seconds: limits.wallTimeSeconds }),
      ...(limits.maxOutputTokens === undefined ? {} : { max_tokens: limits.maxOutputTokens }),
    },
  };
}

/** Lay `entry` over `base` (limits merged field by field) and give the input for `domainPresetSchema`. */
export function mergeEntry(base: DomainPreset | undefined, entry: DomainEntry): DomainPresetInput {
  const start = base ? presetToEntry(base) : {};
  const merged: DomainEntry = { ...start, ...entry, limits: { ...start.limits, ...entry.limits } };
  const limits = merged.limits ?? {};
  return {
    name: merged.name as string,
    description: merged.description as string,
    model: merged.model_preference as string,
    tools: merged.tools,
    systemPrompt: merged.system_prompt as string,
    temperature: merged.temperature,
    keywords: merged.keywords,
    limits: {
      maxIterations: limits.max_iterations,
      convergenceWarnings: limits.convergence_warnings,
      wallTimeSeconds: limits.wall_time_seconds,
      maxOutputTokens: limits.max_tokens,
    },
  };
}

/** The preset as a YAML document, ready to save as `configs/domains/<name>.yaml`. */
export function presetToYaml(preset: DomainPreset): string {
  const doc = new Document(presetToEntry(preset));
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node)) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
