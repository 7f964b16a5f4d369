import type { RouterResponse } from './router-types';

/**
 * A response cache several routers share (the replicas of a gateway, through Redis): what one stored, the others
 * serve. Failures are the cache's own business: `get` resolves undefined and `set` resolves when it cannot reach its
 * store, so that a cache outage never fails a request.
 */
export interface SharedResponseCache {
  get(key: string): Promise<RouterResponse | undefined>;
  set(key: string, response: RouterResponse, ttlMs: number): Promise<void>;
}

/** A circuit opened by one router: the provider is skipped by every router until `until` (epoch ms). */
export interface BreakerAnnouncement {
  provider: string;
  until: number;
}

/** How routers tell each other about the circuits they open. */
export interface BreakerChannel {
  announce(opened: BreakerAnnouncement): void;
  /** Deliver the other routers' announcements to `apply`; returns the function that stops listening. */
  listen(apply: (opened: BreakerAnnouncement) => void): () => void;
}

/** State a router shares with others: set `cache` and `breakers` to act as one with them. */
export interface SharedRouterState {
  /** Used instead of the in-memory cache when `router.cache.enabled`. */
  cache?: SharedResponseCache;
  breakers?: BreakerChannel;
}
