import type { z } from 'zod';

/**
 * Validate `raw` with `schema`, skipping zod when `accepts` (a cheap structural check) already accepts it: answers
 * arrive on every request and every stream line, and nearly all are well formed. `accepts` must accept only what the
 * schema accepts (it may refuse more: zod then decides, and names what is wrong).
 */
export function parseWire<T>(
  schema: z.ZodType<T>,
  accepts: (raw: unknown) => boolean,
  raw: unknown,
): { success: true; data: T } | { success: false; error: z.ZodError } {
  if (accepts(raw)) return { success: true, data: raw as T };
  const parsed = schema.safeParse(raw);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** undefined or a string (zod's `string().optional()`). */
export function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

/** undefined, null or a string (zod's `string().nullish()`). */
export function isNullishString(value: unknown): boolean {
  return value == null || typeof value === 'string';
}

/** A finite number (zod's `number()`; `JSON.parse('1e999')` is Infinity). */
export function isNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}

/** undefined or a finite number (zod's `number().optional()`). */
export function isOptionalNumber(value: unknown): boolean {
  return value === undefined || isNumber(value);
}
