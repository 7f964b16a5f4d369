/** One request the semantic layer can match: its vector, and where its answer is. */
export interface VectorRecord {
  /** The exact layer's key of the answer this request got. */
  key: string;
  /** What must be equal between two requests besides the last user message (`semanticQuery`). */
  scope: string;
  /** The embedding model that made the vector: vectors of different models are never compared. */
  model: string;
  /** Unit length. */
  vector: Float32Array;
}

/** A vector with the exact key of its answer. */
export interface StoredVector {
  key: string;
  vector: Float32Array;
}

/** A vector scaled to unit length (as float32), so that a dot product is the cosine similarity. */
export function unitVector(values: readonly number[] | Float32Array): Float32Array {
  let sum = 0;
  for (const v of values) sum += v * v;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(values.length);
  if (norm === 0) return out;
  for (let i = 0; i < values.length; i++) out[i] = (values[i] ?? 0) / norm;
  return out;
}

/** The dot product of two unit vectors (their cosine similarity); 0 for vectors of different lengths. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] ?? 0) * (b[i] ?? 0);
  return dot;
}

/** The candidates at least `threshold` similar to `query`, most similar first, and the best similarity seen. */
export function rankVectors(
  query: Float32Array,
  candidates: readonly StoredVector[],
  threshold: number,
): { matches: { key: string; similarity: number }[]; best: number | undefined } {
  let best: number | undefined;
  const matches: { key: string; similarity: number }[] = [];
  for (const candidate of candidates) {
    const similarity = cosine(query, candidate.vector);
    if (best === undefined || similarity > best) best = similarity;
    if (similarity >= threshold) matches.push({ key: candidate.key, similarity });
  }
  matches.sort((x, y) => y.similarity - x.similarity);
  return { matches, best };
}

/** A float32 vector as bytes (little-endian, as stored in SQLite and Redis). */
export function vectorBytes(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
}

/** Bytes written by `vectorBytes` as a vector again. */
export function vectorFromBytes(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
}

interface IndexEntry {
  record: VectorRecord;
  expiresAt: number;
}

interface MemoryVectorIndexOptions {
  maxEntries: number;
  ttlMs: number;
  now: () => number;
}

/**
 * The semantic layer's vectors in memory, grouped by scope: at most `maxEntries` (the oldest go first), each for
 * `ttlMs`. A lookup scans the vectors of one scope and one model, linearly.
 */
export class MemoryVectorIndex {
  private readonly byScope = new Map<string, Map<string, IndexEntry>>();
  /** Every entry as `scope\nkey`, oldest first (a Map keeps insertion order). */
  private readonly order = new Map<string, { scope: string; key: string }>();

  constructor(private readonly options: MemoryVectorIndexOptions) {}

  get size(): number {
    return this.order.size;
  }

  add(record: VectorRecord): void {
    const id = `${record.scope}\n${record.key}`;
    this.remove(record.scope, record.key);
    let scope = this.byScope.get(record.scope);
    if (!scope) {
      scope = new Map();
      this.byScope.set(record.scope, scope);
    }
    scope.set(record.key, { record, expiresAt: this.options.now() + this.options.ttlMs });
    this.order.set(id, { scope: record.scope, key: record.key });
    for (const oldest of this.order.values()) {
      if (this.order.size <= this.options.maxEntries) break;
      this.remove(oldest.scope, oldest.key);
    }
  }

  vectors(scope: string, model: string): StoredVector[] {
    const entries = this.byScope.get(scope);
    if (!entries) return [];
    const now = this.options.now();
    const out: StoredVector[] = [];
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now) this.remove(scope, key);
      else if (entry.record.model === model) out.push({ key, vector: entry.record.vector });
    }
    return out;
  }

  clear(): void {
    this.byScope.clear();
    this.order.clear();
  }

  private remove(scope: string, key: string): void {
    const entries = this.byScope.get(scope);
    if (!entries?.delete(key)) return;
    if (entries.size === 0) this.byScope.delete(scope);
    this.order.delete(`${scope}\n${key}`);
  }
}
