import { z } from 'zod';
import type { ModelCapabilities } from '../../provider';
import { type FailureContext, responseMismatch } from '../http-errors';

const showSchema = z.object({
  capabilities: z.array(z.string()).optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
});

/** What `/api/show` says a model can do: tools (its `capabilities`) and its context length (`model_info`). */
export function parseShowResponse(ctx: FailureContext, raw: unknown): ModelCapabilities {
  const parsed = showSchema.safeParse(raw);
  if (!parsed.success) throw responseMismatch(ctx, '/api/show response', parsed.error);
  return {
    tools: parsed.data.capabilities?.includes('tools') ?? false,
    ...contextLengthOf(parsed.data.model_info ?? {}),
  };
}

/**
 * The context length in `/api/show`'s `model_info`: `"<arch>.context_length"` for the architecture named by
 * `general.architecture`, else any `*.context_length`. Empty when none is given.
 */
export function contextLengthOf(info: Record<string, unknown>): { contextLength?: number } {
  const arch = info['general.architecture'];
  const direct = typeof arch === 'string' ? info[`${arch}.context_length`] : undefined;
  const value =
    typeof direct === 'number'
      ? direct
      : Object.entries(info).find(([key, v]) => key.endsWith('.context_length') && typeof v === 'number')?.[1];
  return typeof value === 'number' && value > 0 ? { contextLength: value } : {};
}

/**
 * `load` with its result kept per model: concurrent callers share one lookup, and a failure is not kept (the next
 * call asks again: the model may have been pulled meanwhile).
 */
export function cachedPerModel<T>(load: (model: string) => Promise<T>): (model: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (model) => {
    let cached = cache.get(model);
    if (!cached) {
      const loading = load(model);
      cached = loading;
      cache.set(model, loading);
      loading.catch(() => {
        if (cache.get(model) === loading) cache.delete(model);
      });
    }
    return cached;
  };
}
