import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface ResponseCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * An exact-match response cache: in memory, least-recently-used eviction past `maxEntries`, entries expire after
 * `ttlMs`. Keys are sha256 digests of the request's canonical JSON (see `cacheKey`), so equal requests hit whatever
 * the order of their object keys.
 */
export class ResponseCache<V extends object> {
  private readonly lru: LRUCache<string, V>;

  constructor(options: ResponseCacheOptions) {
    this.lru = new LRUCache<string, V>({ max: options.maxEntries, ttl: options.ttlMs });
  }

  get(key: string): V | undefined {
    return this.lru.get(key);
  }

  set(key: string, value: V): void {
    this.lru.set(key, value);
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}

/** sha256 of the canonical JSON of `value` (object keys sorted, undefined fields dropped). */
export function cacheKey(value: unknown): string {
  return sha256(canonicalJson(value));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys in sorted order, so that equal values serialise equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
