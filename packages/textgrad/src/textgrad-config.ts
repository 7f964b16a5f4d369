import { isBareOllamaName } from '@unity/core';
import { z } from 'zod';
import { EvolutionError } from './errors';

/** The router roles a coder or judge can name instead of a model: each means the model under `models.<role>`. */
const evolutionRoles = ['reasoning', 'coding', 'fallback'] as const;
export type EvolutionRole = (typeof evolutionRoles)[number];

/** A model of the evolution loop: a router role, or one model string (`ollama_chat/qwen2.5-coder:7b`). */
export type ModelChoice = { role: EvolutionRole } | { model: string };

/** `<provider>/<model>`, as LiteLLM and the seed write them (`ollama/qwen2.5-coder:7b`, `minimax/MiniMax-M2`). */
const prefixedModel = /^([a-z][a-z0-9_]*)\/(\S+)$/;

/** The default rubric of the LLM judge. */
export const defaultJudgeRubric =
  'Correctness first: the code must do what its names, comments and tests say. Then clarity (readable names, no ' +
  'dead code), simplicity (no needless abstraction) and efficiency. Penalise anything that games a scorer instead ' +
  'of improving the code.';

interface SectionOptions {
  /**
   * Provider prefixes a model string may use (the router's `modelPrefixes`). Without it any lower-case prefix passes
   * here and an unknown one fails at the first request instead.
   */
  providers?: readonly string[];
}

function modelChoice(options: SectionOptions) {
  const known = options.providers;
  return z
    .string()
    .trim()
    .min(1, 'expected a role or a model')
    .superRefine((value, ctx) => {
      if ((evolutionRoles as readonly string[]).includes(value) || isBareOllamaName(value)) return;
      const prefix = prefixedModel.exec(value)?.[1];
      if (prefix === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${value}" is neither a role (${evolutionRoles.join(', ')}), a model string like ollama/qwen2.5-coder:7b, nor an Ollama model name like qwen2.5-coder:7b`,
          params: { fix: 'write a role such as coding, or a model such as ollama/qwen2.5-coder:7b' },
        });
      } else if (known && !known.includes(prefix)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown provider "${prefix}" in "${value}"`,
          params: { fix: `use one of: ${known.join(', ')} (or a bare Ollama name such as qwen2.5-coder:7b)` },
        });
      }
    });
}

/**
 * The `textgrad:` section of the Unity config, read by `unity evolve` (snake_case, like the seed's
 * `services/evolution/textgrad_loop.py` config):
 * - `model_coder`: the model that proposes variants — a role (`coding`, the default: `models.coding`) or a model
 *   (`ollama/qwen2.5-coder:7b`, `ollama_chat/…`, or a bare Ollama name `qwen2.5-coder:7b`).
 * - `model_judge`: the LLM judge's model, the same way (default `coding`).
 * - `local_only`: the coder and the judge never reach a remote model (default true: evolution runs on the local
 *   model at no API cost, as the seed means; false lets a role try `cloud_llm` first).
 * - `judge_rubric`: what the judge scores against (default: `defaultJudgeRubric`).
 * - `judge_weight`: the judge's share of the score when a command scores too (0–1, default 0.5: equal weights).
 *
 * Give it to `loadConfig({ sections: { textgrad: textgradConfigSection } })` so its errors name file, line and field;
 * `createTextgradConfigSection({ providers })` also refuses model strings whose provider the router does not know.
 */
export function createTextgradConfigSection(options: SectionOptions = {}) {
  const model = modelChoice(options);
  return z
    .strictObject({
      model_coder: model.default('coding'),
      model_judge: model.default('coding'),
      local_only: z.boolean().default(true),
      judge_rubric: z.string().trim().min(1, 'expected a non-empty rubric').default(defaultJudgeRubric),
      judge_weight: z.number().min(0).max(1).default(0.5),
    })
    .prefault({});
}

/** The `textgrad:` section without a check of provider prefixes (see `createTextgradConfigSection`). */
export const textgradConfigSection = createTextgradConfigSection();

export type TextgradConfigSection = z.output<typeof textgradConfigSection>;

/** What `unity evolve` (or any host of the loop) needs from the `textgrad:` section, as options name it. */
export interface EvolutionSettings {
  coder: ModelChoice;
  judge: ModelChoice;
  localOnly: boolean;
  judgeRubric: string;
  judgeWeight: number;
}

/**
 * A role stays a role; a bare Ollama name becomes the model string `ollama_chat/<name>`; a model string stays as
 * written (the router reads `ollama/` and `ollama_chat/` alike).
 */
function modelChoiceOf(value: string): ModelChoice {
  const trimmed = value.trim();
  if ((evolutionRoles as readonly string[]).includes(trimmed)) return { role: trimmed as EvolutionRole };
  if (!trimmed.includes('/') && isBareOllamaName(trimmed)) return { model: `ollama_chat/${trimmed}` };
  return { model: trimmed };
}

/**
 * A model named outside the config (a CLI flag such as `--judge MODEL`), checked as the section checks its models:
 * `INVALID_OPTIONS` naming `where` and the fix when it is neither a role, a model string nor an Ollama name.
 */
export function parseModelChoice(value: string, where: string, options: SectionOptions = {}): ModelChoice {
  const parsed = modelChoice(options).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const fix = (issue as { params?: { fix?: string } } | undefined)?.params?.fix;
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message: `${where}: ${issue?.message ?? 'invalid model'}`,
      ...(fix ? { fix } : {}),
    });
  }
  return modelChoiceOf(parsed.data);
}

/** The `textgrad:` section as the evolution loop's settings. */
export function evolutionSettings(section: TextgradConfigSection): EvolutionSettings {
  return {
    coder: modelChoiceOf(section.model_coder),
    judge: modelChoiceOf(section.model_judge),
    localOnly: section.local_only,
    judgeRubric: section.judge_rubric,
    judgeWeight: section.judge_weight,
  };
}
