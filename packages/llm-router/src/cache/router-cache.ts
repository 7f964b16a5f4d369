import type { RouterRole, UnityConfig } from '../config-schema';
import { cacheKey, ResponseCache } from '../response-cache';
import type { RouterRequest, RouterResponse } from '../router-types';
import type { SharedResponseCache } from '../shared-state';

/** What, besides the request itself, tells two requests apart for the cache. */
export interface CacheContext {
  role: RouterRole;
  localOnly: boolean;
}

export interface RouterCacheOptions {
  config: UnityConfig;
  /** A cache other routers share (Redis, through the gateway's replicas): used instead of the in-memory one. */
  shared?: SharedResponseCache;
}

/**
 * The router's response cache (`router.cache`): looked up before a request's chain is tried, filled with its answer.
 * Requests with `cache: false` neither read nor fill it.
 */
export class RouterCache {
  private readonly store: {
    get(key: string): RouterResponse | undefined | Promise<RouterResponse | undefined>;
    set(key: string, value: RouterResponse): unknown;
  };
  private readonly memory: ResponseCache<RouterResponse> | undefined;

  constructor(options: RouterCacheOptions) {
    const { cache } = options.config.router;
    const ttlMs = cache.ttl_seconds * 1000;
    const shared = options.shared;
    if (shared) {
      this.store = { get: (key) => shared.get(key), set: (key, value) => shared.set(key, value, ttlMs) };
    } else {
      this.memory = new ResponseCache({ maxEntries: cache.max_entries, ttlMs });
      this.store = this.memory;
    }
  }

  /** A stored answer to this request, or undefined. */
  async lookup(request: RouterRequest, context: CacheContext): Promise<RouterResponse | undefined> {
    if (request.cache === false) return undefined;
    return this.store.get(cacheKey(cacheIdentity(request, context)));
  }

  /** Keep an answer for later requests equal to this one (not an answer that ended in error). */
  save(request: RouterRequest, context: CacheContext, response: RouterResponse): void {
    if (request.cache === false || response.finishReason === 'error') return;
    this.store.set(cacheKey(cacheIdentity(request, context)), response);
  }

  async close(): Promise<void> {
    this.memory?.clear();
  }
}

/** Create the router's cache when `router.cache.enabled`, otherwise undefined. */
export function createRouterCache(options: RouterCacheOptions): RouterCache | undefined {
  return options.config.router.cache.enabled ? new RouterCache(options) : undefined;
}

/** What makes two requests the same for the exact-match cache. */
function cacheIdentity(request: RouterRequest, { role, localOnly }: CacheContext) {
  return {
    role,
    localOnly,
    model: request.model,
    messages: request.messages,
    tools: request.tools,
    responseFormat: request.responseFormat,
    temperature: request.temperature,
    maxOutputTokens: request.maxOutputTokens,
    stop: request.stop,
    seed: request.seed,
    toolChoice: request.toolChoice,
    parallelToolCalls: request.parallelToolCalls,
    topP: request.topP,
    topK: request.topK,
    frequencyPenalty: request.frequencyPenalty,
    presencePenalty: request.presencePenalty,
    logprobs: request.logprobs,
    reasoningEffort: request.reasoningEffort,
  };
}
