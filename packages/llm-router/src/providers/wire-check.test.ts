import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isNullishString, isNumber, isOptionalNumber, isOptionalString, isRecord, parseWire } from './wire-check';

const schema = z.object({ a: z.string() });
const acceptsA = (raw: unknown) => isRecord(raw) && raw.a === 'fast';

describe('parseWire', () => {
  it('takes the value as it is when the check accepts it', () => {
    const raw = { a: 'fast', extra: 1 };
    const parsed = parseWire(schema, acceptsA, raw);
    expect(parsed).toEqual({ success: true, data: raw });
    expect(parsed.success && parsed.data).toBe(raw);
  });

  it('lets zod decide when the check refuses, with zod’s output or issues', () => {
    expect(parseWire(schema, acceptsA, { a: 'slow', extra: 1 })).toEqual({ success: true, data: { a: 'slow' } });
    const failed = parseWire(schema, acceptsA, { a: 1 });
    expect(failed.success).toBe(false);
    expect(!failed.success && failed.error.issues[0]?.path).toEqual(['a']);
  });
});

describe('value checks', () => {
  it('match zod’s optional, nullish and number rules', () => {
    expect([undefined, 'x', null, 1].map(isOptionalString)).toEqual([true, true, false, false]);
    expect([undefined, null, 'x', 1].map(isNullishString)).toEqual([true, true, true, false]);
    expect([1, -0.5, Number.POSITIVE_INFINITY, Number.NaN, '1'].map(isNumber)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    expect([undefined, 2, null].map(isOptionalNumber)).toEqual([true, true, false]);
    expect([{}, [], null, 'x'].map(isRecord)).toEqual([true, false, false, false]);
  });
});
