import { createHash } from 'node:crypto';

/**
 * A deterministic embedding of `text`, the way the fake upstreams compute theirs: each word (lower-cased letters and
 * digits) is hashed into a few signed buckets, and the sum is scaled to unit length (float32 values). Equal texts give
 * equal vectors, texts sharing words have a high cosine similarity and texts sharing none a low one, so tests can
 * assert similarity without a model. A text without words gets a fixed unit vector.
 */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const digest = createHash('sha256').update(word).digest();
    for (let k = 0; k < 4; k++) {
      const index = digest.readUInt32LE(k * 4) % dimensions;
      vector[index] = (vector[index] ?? 0) + ((digest[16 + k] ?? 0) & 1 ? 1 : -1);
    }
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((v) => Math.fround(v / norm));
}

/** The cosine similarity of two vectors of the same length (0 when either is all zeros). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`vectors of different lengths: ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** A vector as OpenAI's `encoding_format: "base64"` sends it: little-endian float32 bytes, base64. */
export function float32Base64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
