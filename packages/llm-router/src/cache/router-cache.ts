import type { EventEmitter } from 'node:events';
import { describeError } from '@unity/core';
import type { UnityConfig } from '../config-schema';
import type { EmbedRequest, EmbedResponse } from '../embeddings';
import { ConfigError } from '../errors';
import type { RouterEventMap } from '../router-events';
import type { RouterRequest, RouterResponse } from '../router-types';
import type { SharedResponseCache } from '../shared-state';
import { CacheError } from './cache-error';
import { type CacheContext, exactKey, type SemanticQuery, semanticQuery } from './cache-identity';
import {
  type CacheStore,
  type CacheStoreKind,
  MemoryCacheStore,
  SharedCacheStore,
  type StoreLimits,
} from './cache-store';
import { RedisCacheStore } from './redis-cache-store';
import { resolveCachePath, SqliteCacheStore } from './sqlite-cache-store';
import { rankVectors, unitVector } from './vector-index';

export type { CacheContext } from './cache-identity';

interface RouterCacheOptions {
  config: UnityConfig;
  /**
   * A cache other routers share (the gateway's replicas, through Redis): used instead of `router.cache.store`, and the
   * router opens no store of its own.
   */
  shared?: SharedResponseCache;
  /** The router's embedding chain (`router.embed`): needed by the semantic layer (`router.cache.semantic`). */
  embed?: (request: EmbedRequest) => Promise<EmbedResponse>;
  /** Where `cache-lookup` and `cache-error` go (the router); `cache-lookup` is built only when someone listens. */
  events?: Pick<EventEmitter<RouterEventMap>, 'emit' | 'listenerCount'>;
  /** Resolves a relative `router.cache.path` (default: process.cwd()). */
  cwd?: string;
  /** The clock of TTLs (default `Date.now`). */
  now?: () => number;
  /** A store to use instead of the configured one. */
  store?: CacheStore;
}

/** Hits and misses of each layer since the cache was created. */
export interface RouterCacheStats {
  store: CacheStoreKind;
  exact: { hits: number; misses: number };
  /**
   * `misses`: consulted without a match; `skipped`: an exact miss the layer could not consider (the last message is
   * not a user's text, or embedding it failed). All zero when the layer is off.
   */
  semantic: { hits: number; misses: number; skipped: number };
  /** Requests with `cache: false` or `'refresh'`, which were not looked up. */
  bypassed: number;
  /** Answers written. */
  stored: number;
  /**
   * Store and embedding operations that failed, and entries read back that were not answers: each a miss or a dropped
   * write.
   */
  errors: number;
}

type MaybePromise<T> = T | Promise<T>;

const isPromise = <T>(value: MaybePromise<T>): value is Promise<T> =>
  typeof (value as Promise<T> | undefined)?.then === 'function';

/** A request's vector, once embedded for the lookup: kept for its `save`. `null`: embedding it failed. */
type Embedded = { vector: Float32Array; model: string } | null;

/** What the cache worked out about one request, once: by its lookup, for its save. */
interface Prepared {
  request: RouterRequest;
  /** The exact layer's key. */
  exact: string;
  /** The semantic layer's view, once needed; null: the request has none. */
  semantic?: SemanticQuery | null;
  /** The vector embedded for the lookup; absent: not embedded (`cache: 'refresh'`). */
  embedded?: Embedded;
}

/**
 * The most stored answers a semantic lookup reads, best match first: one evicted or expired since its vector was
 * stored is passed over for the next (SQLite and Redis drop vectors with their answers; the memory and shared stores
 * may keep a few).
 */
const maxSemanticReads = 16;

/**
 * The router's response cache (`router.cache`), looked up before a request's chain is tried and filled with its
 * answer. Two layers: exact (the whole request, in the configured store) and, optionally, semantic (the last user
 * message by meaning, the rest of the request exactly). Never across `cacheScope`s (tenants). A store or embedding
 * failure is a miss or a dropped write, with one `cache-error` event per outage: it never fails a request.
 */
export class RouterCache {
  private readonly store: CacheStore;
  private readonly semantic: UnityConfig['router']['cache']['semantic'] | undefined;
  /**
   * Keyed by the context object of a request's run (one per call, the same for its lookup and its save): a request
   * object a caller reuses, changed, for a later call gets its keys computed anew.
   */
  private readonly prepared = new WeakMap<CacheContext, Prepared>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Stores (and `embedding`) whose last operation failed: the next failure is the same outage, not reported again. */
  private readonly down = new Set<string>();
  private readonly counts: RouterCacheStats;

  constructor(private readonly options: RouterCacheOptions) {
    const { cache } = options.config.router;
    this.store = options.store ?? createStore(options);
    if (cache.semantic.enabled) {
      if (!options.embed) {
        throw new ConfigError({
          code: 'CONFIG_INVALID',
          message: 'router.cache.semantic is enabled, but the cache was given no embedding function',
          fix: 'create the cache through createRouter (which passes router.embed), or pass embed to createRouterCache',
        });
      }
      this.semantic = cache.semantic;
    }
    this.counts = {
      store: this.store.kind,
      exact: { hits: 0, misses: 0 },
      semantic: { hits: 0, misses: 0, skipped: 0 },
      bypassed: 0,
      stored: 0,
      errors: 0,
    };
  }

  /** A stored answer to this request (or, with the semantic layer, to one that means the same), or undefined. */
  async lookup(request: RouterRequest, context: CacheContext): Promise<RouterResponse | undefined> {
    if (request.cache === false || request.cache === 'refresh') {
      this.counts.bypassed += 1;
      return undefined;
    }
    const prepared = this.prepare(request, context);
    let exact = this.guard('get', () => this.store.get(prepared.exact), undefined);
    if (isPromise(exact)) exact = await exact;
    if (exact) {
      this.counts.exact.hits += 1;
      if (this.heard()) this.emitLookup(context, { hit: true, layer: 'exact', semantic: false });
      return exact;
    }
    this.counts.exact.misses += 1;
    if (!this.semantic) {
      if (this.heard()) this.emitLookup(context, { hit: false, semantic: false });
      return undefined;
    }
    const found = await this.semanticLookup(prepared, context, this.semantic);
    if (this.heard()) {
      const similarity = found.similarity === undefined ? {} : { similarity: found.similarity };
      if (found.response) this.emitLookup(context, { hit: true, layer: 'semantic', semantic: true, ...similarity });
      else this.emitLookup(context, { hit: false, semantic: found.consulted, ...similarity });
    }
    return found.response;
  }

  /** Keep an answer for later requests equal to this one, or meaning the same (not an answer that ended in error). */
  save(request: RouterRequest, context: CacheContext, response: RouterResponse): void {
    if (request.cache === false || response.finishReason === 'error') return;
    const prepared = this.prepare(request, context);
    // A hit lists no attempts: the stored answer need not carry them.
    const stored: RouterResponse = { ...response, attempts: [] };
    delete stored.cached;
    const written = this.guard(
      'set',
      () => {
        const done = this.store.set(prepared.exact, stored);
        return isPromise(done) ? done.then(() => true) : true;
      },
      false,
    );
    this.settle(written, (ok) => {
      if (ok) this.counts.stored += 1;
    });
    if (!this.semantic) return;
    const query = this.queryOf(prepared, context);
    const known = prepared.embedded;
    if (!query || known === null) return;
    const add = (embedded: NonNullable<Embedded>) =>
      this.guard(
        'add-vector',
        () =>
          this.store.addVector({
            key: prepared.exact,
            scope: query.scope,
            model: embedded.model,
            vector: embedded.vector,
          }),
        undefined,
      );
    if (known) this.settle(add(known), () => {});
    else {
      // Not looked up (`cache: 'refresh'`): embed it now, after the answer.
      this.track(
        this.embedText(query.text, undefined, context, this.semantic).then((embedded) => embedded && add(embedded)),
      );
    }
  }

  /** Hits and misses of each layer so far. */
  stats(): RouterCacheStats {
    return {
      ...this.counts,
      exact: { ...this.counts.exact },
      semantic: { ...this.counts.semantic },
    };
  }

  /** Finish the writes under way, then close the store (its file or connection). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.store.close();
  }

  /** The keys of this request, computed once per call. */
  private prepare(request: RouterRequest, context: CacheContext): Prepared {
    const known = this.prepared.get(context);
    if (known?.request === request) return known;
    const prepared: Prepared = { request, exact: exactKey(request, context) };
    this.prepared.set(context, prepared);
    return prepared;
  }

  private queryOf(prepared: Prepared, context: CacheContext): SemanticQuery | undefined {
    if (prepared.semantic === undefined) prepared.semantic = semanticQuery(prepared.request, context) ?? null;
    return prepared.semantic ?? undefined;
  }

  private async semanticLookup(
    prepared: Prepared,
    context: CacheContext,
    settings: NonNullable<RouterCache['semantic']>,
  ): Promise<{ response?: RouterResponse; consulted: boolean; similarity?: number }> {
    const query = this.queryOf(prepared, context);
    const embedded = query ? await this.embedText(query.text, prepared.request.signal, context, settings) : null;
    prepared.embedded = embedded;
    if (!query || !embedded) {
      this.counts.semantic.skipped += 1;
      return { consulted: false };
    }
    let candidates = this.guard('vectors', () => this.store.vectors(query.scope, embedded.model), []);
    if (isPromise(candidates)) candidates = await candidates;
    const { matches, best } = rankVectors(embedded.vector, candidates, settings.threshold);
    // Best first: an answer evicted or expired since its vector was stored is passed over for the next.
    for (const match of matches.slice(0, maxSemanticReads)) {
      let response = this.guard('get', () => this.store.get(match.key), undefined);
      if (isPromise(response)) response = await response;
      if (response) {
        this.counts.semantic.hits += 1;
        return { response, consulted: true, similarity: match.similarity };
      }
    }
    this.counts.semantic.misses += 1;
    return { consulted: true, ...(best === undefined ? {} : { similarity: best }) };
  }

  /** The unit vector of `text` by the embedding chain, or null when it failed (an outage reported once). */
  private async embedText(
    text: string,
    signal: AbortSignal | undefined,
    context: CacheContext,
    settings: NonNullable<RouterCache['semantic']>,
  ): Promise<Embedded> {
    try {
      const response = await this.options.embed!({
        input: text,
        // The request's privacy holds for its embedding too.
        localOnly: context.localOnly,
        deadlineMs: settings.timeout_ms,
        ...(signal ? { signal } : {}),
        ...(settings.model ? { model: settings.model } : {}),
      });
      const values = response.embeddings[0];
      if (!values || values.length === 0) throw new Error('the embedding chain answered no vector');
      this.down.delete('embedding');
      return { vector: unitVector(values), model: response.model };
    } catch (error) {
      if (signal?.aborted) return null;
      this.failed(
        'embedding',
        'embed',
        new CacheError({
          code: 'EMBEDDING_FAILED',
          message: `the semantic cache could not embed a request: ${describeError(error)}`,
          fix: 'check models.embedding (or router.cache.semantic.model), or raise router.cache.semantic.timeout_ms',
          cause: error,
        }),
      );
      return null;
    }
  }

  /**
   * Run a store operation: its value, or `fallback` when the store failed (reported once per outage) or held an
   * entry that is not an answer (reported, and deleted by the store). Synchronous for a synchronous store (memory).
   */
  private guard<T>(operation: string, run: () => MaybePromise<T>, fallback: T): MaybePromise<T> {
    try {
      const value = run();
      if (isPromise(value)) {
        return value.then(
          (settled) => this.worked(settled),
          (error: unknown) => this.broke(operation, error, fallback),
        );
      }
      return this.worked(value);
    } catch (error) {
      return this.broke(operation, error, fallback);
    }
  }

  private worked<T>(value: T): T {
    this.down.delete(this.store.kind);
    return value;
  }

  private broke<T>(operation: string, error: unknown, fallback: T): T {
    const cacheError = asCacheError(error, this.store.kind, operation);
    if (cacheError.code === 'ENTRY_INVALID') {
      // The store answered: not an outage. The entry is gone, so this is reported once.
      this.down.delete(this.store.kind);
      this.counts.errors += 1;
      this.options.events?.emit('cache-error', { store: this.store.kind, operation, error: cacheError });
    } else {
      this.failed(this.store.kind, operation, cacheError);
    }
    return fallback;
  }

  private failed(store: string, operation: string, error: CacheError): void {
    this.counts.errors += 1;
    if (this.down.has(store)) return;
    this.down.add(store);
    this.options.events?.emit('cache-error', { store, operation, error });
  }

  /** Whether anyone listens to `cache-lookup`: its payload is built only then. */
  private heard(): boolean {
    return (this.options.events?.listenerCount('cache-lookup') ?? 0) > 0;
  }

  private emitLookup(context: CacheContext, outcome: Omit<RouterEventMap['cache-lookup'][0], 'requestId'>): void {
    this.options.events?.emit('cache-lookup', { requestId: context.requestId ?? 0, ...outcome });
  }

  /** `fn` on a value now, or on a promise's once it settles (tracked, so that `close` waits for it). */
  private settle<T>(value: MaybePromise<T>, fn: (value: T) => void): void {
    if (isPromise(value)) this.track(value.then(fn));
    else fn(value);
  }

  private track(work: Promise<unknown>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}

/** Create the router's cache when `router.cache.enabled`, otherwise undefined. */
export function createRouterCache(options: RouterCacheOptions): RouterCache | undefined {
  return options.config.router.cache.enabled ? new RouterCache(options) : undefined;
}

/** The configured store; the gateway's shared one wins over `router.cache.store`. */
function createStore(options: RouterCacheOptions): CacheStore {
  const { cache } = options.config.router;
  const limits: StoreLimits = {
    maxEntries: cache.max_entries,
    ttlMs: cache.ttl_seconds * 1000,
    maxVectors: cache.semantic.max_entries,
    now: options.now ?? Date.now,
  };
  if (options.shared) return new SharedCacheStore(options.shared, limits);
  switch (cache.store) {
    case 'memory':
      return new MemoryCacheStore(limits);
    case 'sqlite':
      return new SqliteCacheStore({
        ...limits,
        file: resolveCachePath(cache.path, options.cwd ?? process.cwd()),
        ...(cache.max_bytes === undefined ? {} : { maxBytes: cache.max_bytes }),
      });
    case 'redis':
      if (!cache.redis_url) {
        throw new ConfigError({
          code: 'CONFIG_INVALID',
          message: 'router.cache.store is redis, but router.cache.redis_url is not set',
          fix: 'set router.cache.redis_url: redis://127.0.0.1:6379 (or use store: sqlite or memory)',
        });
      }
      return new RedisCacheStore({
        ...limits,
        url: cache.redis_url,
        keyPrefix: cache.redis_key_prefix,
        timeoutMs: cache.timeout_ms,
      });
  }
}

function asCacheError(error: unknown, store: CacheStoreKind, operation: string): CacheError {
  if (CacheError.isInstance(error)) return error;
  return new CacheError({
    code: 'STORE_UNAVAILABLE',
    message: `the response cache's ${store} store failed (${operation}): ${describeError(error)}`,
    fix: 'requests are answered without the cache until the store works again',
    cause: error,
  });
}
