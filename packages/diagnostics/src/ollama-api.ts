import { type ProbeResult, probeJson } from './http-probe';

/** A pulled model as `/api/tags` lists it. */
export interface OllamaTag {
  name: string;
  size: number;
  quantization?: string;
}

/** `/api/show`'s answer, reduced to what the checks read. */
export interface OllamaShow {
  /** Undefined when the server does not report capabilities (Ollama before 0.6). */
  capabilities?: string[];
  contextLength?: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; failure: Exclude<ProbeResult, { kind: 'ok' }> };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

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
  const version = isRecord(result.body) ? result.body.version : undefined;
  return typeof version === 'string' ? { ok: true, value: version } : malformed(result.status, '{"version": string}');
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
  const models = isRecord(result.body) ? result.body.models : undefined;
  if (!Array.isArray(models)) return malformed(result.status, '{"models": [...]}');
  const tags: OllamaTag[] = [];
  for (const m of models) {
    if (!isRecord(m) || typeof m.name !== 'string') return malformed(result.status, 'models with a name');
    const details = isRecord(m.details) ? m.details : {};
    tags.push({
      name: m.name,
      size: typeof m.size === 'number' ? m.size : 0,
      ...(typeof details.quantization_level === 'string' ? { quantization: details.quantization_level } : {}),
    });
  }
  return { ok: true, value: tags };
}

export async function ollamaShow(
  host: string,
  model: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Parsed<OllamaShow>> {
  const result = await probeJson(join(host, '/api/show'), { method: 'POST', body: { model }, timeoutMs, signal });
  if (result.kind !== 'ok') return { ok: false, failure: result };
  if (!isRecord(result.body)) return malformed(result.status, 'an object');
  const { capabilities, model_info: info } = result.body;
  const contextKey = isRecord(info) ? Object.keys(info).find((k) => k.endsWith('.context_length')) : undefined;
  const contextLength = contextKey && isRecord(info) ? info[contextKey] : undefined;
  return {
    ok: true,
    value: {
      ...(Array.isArray(capabilities) ? { capabilities: capabilities.filter((c) => typeof c === 'string') } : {}),
      ...(typeof contextLength === 'number' ? { contextLength } : {}),
    },
  };
}
