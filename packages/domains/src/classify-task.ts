import { type ChatModel, describeError, raceAbort } from '@unity/core';
import { z } from 'zod';
import type { DomainPreset } from './domain-preset';

/** How a task's domain was decided: by the model, by keyword rules when the model did not answer, or by default. */
export type ClassificationMethod = 'model' | 'keywords' | 'default';

export interface TaskClassification {
  preset: DomainPreset;
  method: ClassificationMethod;
  /** The model's reason, the keywords that matched, or why the default was taken. */
  reason: string;
  /** Why the model's answer was not used, when a model was asked. */
  modelError?: string;
}

export interface ClassifyTaskOptions {
  presets: readonly DomainPreset[];
  /** Asked first, with structured output; without it (or when it fails) keyword rules decide. */
  model?: ChatModel;
  /** How long the model may take before keyword rules decide instead (default 30 000 ms). */
  timeoutMs?: number;
  /** The preset used when nothing matches (default: `reasoning` when present, else the first preset). */
  defaultDomain?: string;
  signal?: AbortSignal;
}

const answerSchema = z.object({ domain: z.string(), reason: z.string().optional() });

/**
 * Pick the preset that fits a task. The model is asked for `{"domain", "reason"}` (a JSON schema whose `domain` is an
 * enum of the preset names, validated again with zod); when it fails — error, timeout, malformed or unknown answer —
 * keyword rules decide, and the result says which method decided and why the model's answer was not used.
 * Aborting `signal` rejects instead of falling back.
 */
export async function classifyTask(task: string, options: ClassifyTaskOptions): Promise<TaskClassification> {
  const { presets } = options;
  if (presets.length === 0) throw new TypeError('classifyTask: no presets to choose from');
  let modelError: string | undefined;
  if (options.model) {
    try {
      const answer = await askModel(task, options.model, options);
      const preset = presets.find((p) => p.name === answer.domain);
      if (preset) return { preset, method: 'model', reason: answer.reason ?? 'chosen by the model' };
      modelError = `the model named an unknown domain "${answer.domain}"`;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      modelError = describeError(error);
    }
  }
  const byKeywords = matchKeywords(task, presets);
  const extra = modelError === undefined ? {} : { modelError };
  if (byKeywords) {
    return {
      preset: byKeywords.preset,
      method: 'keywords',
      reason: `matched ${byKeywords.matched.map((k) => `"${k}"`).join(', ')}`,
      ...extra,
    };
  }
  const preset = presets.find((p) => p.name === (options.defaultDomain ?? 'reasoning')) ?? (presets[0] as DomainPreset);
  return { preset, method: 'default', reason: 'no keyword matched', ...extra };
}

/** The preset whose keywords match best (each keyword counts its words; ties go to the earlier preset). */
export function matchKeywords(
  task: string,
  presets: readonly DomainPreset[],
): { preset: DomainPreset; matched: string[] } | undefined {
  let best: { preset: DomainPreset; matched: string[]; score: number } | undefined;
  for (const preset of presets) {
    const matched = preset.keywords.filter((keyword) => keywordPattern(keyword).test(task));
    const score = matched.reduce((sum, k) => sum + k.trim().split(/\s+/).length, 0);
    if (score > 0 && (!best || score > best.score)) best = { preset, matched, score };
  }
  return best && { preset: best.preset, matched: best.matched };
}

function keywordPattern(keyword: string): RegExp {
  const escaped = keyword
    .trim()
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\s+/g, '\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'iu');
}

async function askModel(task: string, model: ChatModel, options: ClassifyTaskOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const names = options.presets.map((p) => p.name);
  const request = model.chat({
    messages: [
      {
        role: 'system',
        content: [
          'You route a task to the domain that fits it best. The domains:',
          ...options.presets.map((p) => `- ${p.name}: ${p.description}`),
          'Answer with JSON only: {"domain": "<one of the names>", "reason": "<one short sentence>"}.',
        ].join('\n'),
      },
      { role: 'user', content: task },
    ],
    responseFormat: {
      type: 'json',
      schema: {
        type: 'object',
        properties: { domain: { type: 'string', enum: names }, reason: { type: 'string' } },
        required: ['domain', 'reason'],
        additionalProperties: false,
      },
    },
    temperature: 0,
    maxOutputTokens: 200,
    signal,
  });
  // A model that ignores its signal still loses the race.
  const response = await raceAbort(request, signal, (reason) =>
    options.signal?.aborted ? reason : new Error(`the model did not answer within ${timeoutMs} ms (timeoutMs)`),
  );
  const parsed = answerSchema.safeParse(parseJson(response.content));
  if (!parsed.success) {
    throw new Error(`the model's answer is not {"domain", "reason"}: ${truncate(response.content)}`);
  }
  return parsed.data;
}

/** JSON from a reply, tolerating a ``` fence or text around the object. */
function parseJson(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

function truncate(text: string): string {
  const flat = JSON.stringify(text);
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}
