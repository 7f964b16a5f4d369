import { canonicalJson, sha256Hex } from '@unity/core';
import { LRUCache } from 'lru-cache';

interface ResponseCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** The clock of the TTL, in ms (default `performance.now`). */
  now?: () => number;
}

/**
 * An exact-match response cache: in memory, least-recently-used eviction past `maxEntries`, entries expire after
 * `ttlMs`. Keys are sha256 digests of the request's canonical JSON (see `cacheKey`), so equal requests hit whatever
 * the order of their object keys.
 */
export class ResponseCache<V extends object> {
  private readonly lru: LRUCache<string, V>;

  constructor(options: ResponseCacheOptions) {
    const clock = options.now;
    this.lru = new LRUCache<string, V>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // An injected clock is read at every check, not rounded to lru-cache's default resolution of 1 ms.
      ...(clock ? { perf: { now: clock }, ttlResolution: 0 } : {}),
    });
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
  return sha256Hex(canonicalJson(value));
}
