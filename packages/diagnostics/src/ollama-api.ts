import { contextLengthOf } from '@unity/llm-router/internal';
import { z } from 'zod';
import { type ProbeResult, probeJson } from './http-probe';

/** A pulled model as `/api/tags` lists it. */
interface OllamaTag {
  name: string;
  size: number;
  quantization?: string;
}

/** `/api/show`'s answer, reduced to what the checks read. */
interface OllamaShow {
  /** Undefined when the server does not report capabilities (Ollama before 0.6). */
  capabilities?: string[];
  contextLength?: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; failure: Exclude<ProbeResult, { kind: 'ok' }> };

const versionSchema = z.object({ version: z.string() });
const tagsSchema = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      size: z.number().optional(),
      details: z.object({ quantization_level: z.string().optional() }).partial().optional(),
    }),
  ),
});
const showSchema = z.object({
  capabilities: z.array(z.string()).optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
});

/** `qwen2.5-coder` → `qwen2.5-coder:latest`, as Ollama names an untagged model. */
export function withTag(model: string): string {
  return model.includes(':') ? model : `${model}:latest`;
}

function join(host: string, path: string): string {
  return `${host.replace(/\/+$/, '')}${path}`;
}

function malformed(status: number, what: string): Parsed<never> {
  return { ok: false, failure: { kind: 'malformed', status, message: `expected ${what}` } };
}

export async function ollamaVersion(host: string, timeoutMs: number, signal?: AbortSignal): Promise<Parsed<string>> {
  const result = await probeJson(join(host, '/api/version'), { timeoutMs, signal });
  if (result.kind !== 'ok') return { ok: false, failure: result };
  const parsed = versionSchema.safeParse(result.body);
  return parsed.success ? { ok: true, value: parsed.data.version } : malformed(result.status, '{"version": string}');
}

/** `/api/tags` (pulled models) or `/api/ps` (loaded models). */
export async function ollamaModels(
  host: string,
  path: '/api/tags' | '/api/ps',
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Parsed<OllamaTag[]>> {
  const result = await probeJson(join(host, path), { timeoutMs, signal });
  if (result.kind !== 'ok') return { ok: false, failure: result };
  const parsed = tagsSchema.safeParse(result.body);
  if (!parsed.success) return malformed(result.status, '{"models": [{"name": string, …}]}');
  return {
    ok: true,
    value: parsed.data.models.map((m) => ({
      name: m.name,
      size: m.size ?? 0,
      ...(m.details?.quantization_level ? { quantization: m.details.quantization_level } : {}),
    })),
  };
}

export async function ollamaShow(
  host: string,
  model: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Parsed<OllamaShow>> {
  const result = await probeJson(join(host, '/api/show'), { method: 'POST', body: { model }, timeoutMs, signal });
  if (result.kind !== 'ok') return { ok: false, failure: result };
  const parsed = showSchema.safeParse(result.body);
  if (!parsed.success) return malformed(result.status, '{"capabilities": [string], "model_info": {…}}');
  const { capabilities, model_info: info = {} } = parsed.data;
  // The same reading as the router's, so that doctor reports the context the router will use.
  return { ok: true, value: { ...(capabilities ? { capabilities } : {}), ...contextLengthOf(info) } };
}
