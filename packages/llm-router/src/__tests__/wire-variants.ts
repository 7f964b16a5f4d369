/** Replacement values that break (or keep) a field of a wire answer in every way JSON can. */
const replacements: unknown[] = [
  undefined,
  null,
  0,
  1.5,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  true,
  [],
  [1],
  {},
  { x: 1 },
];

/**
 * `value` with one field (at any depth, array items included) replaced by each of `replacements` or removed: for
 * checking that a cheap structural check accepts no more than the zod schema it stands in for.
 */
export function* wireVariants(value: unknown): Generator<unknown> {
  yield value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      for (const inner of wireVariants(value[i])) yield value.map((item, j) => (j === i ? inner : item));
    }
    yield [];
    return;
  }
  if (typeof value !== 'object' || value === null) {
    yield* replacements;
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    for (const inner of wireVariants(record[key])) yield { ...record, [key]: inner };
    const { [key]: _, ...without } = record;
    yield without;
  }
  yield* replacements;
}
