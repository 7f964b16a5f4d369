import { ResponseCache } from '../response-cache';
import type { RouterResponse } from '../router-types';
import type { SharedResponseCache } from '../shared-state';
import { MemoryVectorIndex, type StoredVector, type VectorRecord } from './vector-index';

/** Where the cache keeps answers: `router.cache.store`, or `shared` (the gateway's Redis, shared by its replicas). */
export type CacheStoreKind = 'memory' | 'sqlite' | 'redis' | 'shared';

type MaybePromise<T> = T | Promise<T>;

/**
 * A store of the router's cache: answers by exact key, and the semantic layer's vectors. Each bounds its size and
 * expires entries after the TTL it was created with. Methods may throw or reject when the store is unreachable: the
 * cache turns that into a miss or a dropped write.
 */
export interface CacheStore {
  readonly kind: CacheStoreKind;
  get(key: string): MaybePromise<RouterResponse | undefined>;
  set(key: string, response: RouterResponse): MaybePromise<void>;
  /** The unexpired vectors of requests of `scope` that `model` embedded. */
  vectors(scope: string, model: string): MaybePromise<StoredVector[]>;
  addVector(record: VectorRecord): MaybePromise<void>;
  close(): Promise<void>;
}

export interface StoreLimits {
  maxEntries: number;
  ttlMs: number;
  /** The semantic layer's bound on vectors. */
  maxVectors: number;
  now: () => number;
}

/** Answers and vectors in this process's memory: least recently used answers go first, the oldest vectors. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly answers: ResponseCache<RouterResponse>;
  private readonly index: MemoryVectorIndex;

  constructor(limits: StoreLimits) {
    this.answers = new ResponseCache({ maxEntries: limits.maxEntries, ttlMs: limits.ttlMs, now: limits.now });
    this.index = new MemoryVectorIndex({ maxEntries: limits.maxVectors, ttlMs: limits.ttlMs, now: limits.now });
  }

  get(key: string): RouterResponse | undefined {
    return this.answers.get(key);
  }

  set(key: string, response: RouterResponse): void {
    this.answers.set(key, response);
  }

  vectors(scope: string, model: string): StoredVector[] {
    return this.index.vectors(scope, model);
  }

  addVector(record: VectorRecord): void {
    this.index.add(record);
  }

  async close(): Promise<void> {
    this.answers.clear();
    this.index.clear();
  }
}

/**
 * The gateway's shared answers (Redis, one store for every replica; its TTL is passed on each write), with the
 * vectors in this process's memory: a replica matches paraphrases of the requests it served itself.
 */
export class SharedCacheStore implements CacheStore {
  readonly kind = 'shared';
  private readonly index: MemoryVectorIndex;

  constructor(
    private readonly shared: SharedResponseCache,
    private readonly limits: StoreLimits,
  ) {
    this.index = new MemoryVectorIndex({ maxEntries: limits.maxVectors, ttlMs: limits.ttlMs, now: limits.now });
  }

  get(key: string): Promise<RouterResponse | undefined> {
    return this.shared.get(key);
  }

  set(key: string, response: RouterResponse): Promise<void> {
    return this.shared.set(key, response, this.limits.ttlMs);
  }

  vectors(scope: string, model: string): StoredVector[] {
    return this.index.vectors(scope, model);
  }

  addVector(record: VectorRecord): void {
    this.index.add(record);
  }

  async close(): Promise<void> {
    // The gateway owns the shared store's connection.
    this.index.clear();
  }
}
