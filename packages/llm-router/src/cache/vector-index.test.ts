import { describe, expect, it } from 'vitest';
import {
  cosine,
  MemoryVectorIndex,
  rankVectors,
  unitVector,
  type VectorRecord,
  vectorBytes,
  vectorFromBytes,
} from './vector-index';

const record = (key: string, values: number[], scope = 's', model = 'm'): VectorRecord => ({
  key,
  scope,
  model,
  vector: unitVector(values),
});

describe('vectors', () => {
  it('scales to unit length, so that the dot product is the cosine similarity', () => {
    const a = unitVector([3, 4]);
    expect([...a]).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(cosine(a, unitVector([6, 8]))).toBeCloseTo(1, 6);
    expect(cosine(a, unitVector([-4, 3]))).toBeCloseTo(0, 6);
    expect(cosine(a, unitVector([1, 2, 3]))).toBe(0);
    expect([...unitVector([0, 0])]).toEqual([0, 0]);
  });

  it('ranks the candidates at or above the threshold, most similar first, and reports the best', () => {
    const query = unitVector([1, 0]);
    const ranked = rankVectors(
      query,
      [
        { key: 'far', vector: unitVector([0, 1]) },
        { key: 'near', vector: unitVector([1, 0.1]) },
        { key: 'same', vector: unitVector([2, 0]) },
      ],
      0.99,
    );
    expect(ranked.matches.map((m) => m.key)).toEqual(['same', 'near']);
    expect(ranked.best).toBeCloseTo(1, 6);
    expect(rankVectors(query, [], 0.5)).toEqual({ matches: [], best: undefined });
  });

  it('round-trips through bytes', () => {
    const v = unitVector([0.1, -0.2, 0.3]);
    expect([...vectorFromBytes(vectorBytes(v))]).toEqual([...v]);
    expect(vectorBytes(v).byteLength).toBe(12);
  });
});

describe('MemoryVectorIndex', () => {
  it('returns the vectors of one scope and one model only', () => {
    const index = new MemoryVectorIndex({ maxEntries: 10, ttlMs: 1_000, now: () => 0 });
    index.add(record('a', [1, 0]));
    index.add(record('b', [0, 1], 'other-scope'));
    index.add(record('c', [0, 1], 's', 'other-model'));
    expect(index.vectors('s', 'm').map((v) => v.key)).toEqual(['a']);
    expect(index.vectors('s', 'other-model').map((v) => v.key)).toEqual(['c']);
    expect(index.vectors('nothing', 'm')).toEqual([]);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const index = new MemoryVectorIndex({ maxEntries: 2, ttlMs: 1_000, now: () => 0 });
    index.add(record('a', [1, 0]));
    index.add(record('b', [1, 1]));
    index.add(record('a', [1, 0])); // stored again: now the newest
    index.add(record('c', [0, 1]));
    expect(index.size).toBe(2);
    expect(index.vectors('s', 'm').map((v) => v.key)).toEqual(['a', 'c']);
  });

  it('forgets vectors older than the TTL', () => {
    let now = 0;
    const index = new MemoryVectorIndex({ maxEntries: 10, ttlMs: 1_000, now: () => now });
    index.add(record('a', [1, 0]));
    now = 999;
    expect(index.vectors('s', 'm')).toHaveLength(1);
    now = 1_000;
    expect(index.vectors('s', 'm')).toHaveLength(0);
    expect(index.size).toBe(0);
  });
});
