import { describe, expect, it } from 'vitest';
import { ask, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import type { Router } from './router';
import type { RouterResponse } from './router-types';
import type { BreakerAnnouncement, BreakerChannel, SharedResponseCache } from './shared-state';

const bed = useRouterTestBed();
const { fakes } = bed;

/** What Redis pub/sub does for the gateway's replicas: every announcement reaches every other listener. */
function channel(): () => BreakerChannel & { sent: BreakerAnnouncement[] } {
  const listeners = new Set<(a: BreakerAnnouncement) => void>();
  const sent: BreakerAnnouncement[] = [];
  return () => {
    let own: ((a: BreakerAnnouncement) => void) | undefined;
    return {
      sent,
      announce(opened) {
        sent.push(opened);
        for (const listener of listeners) if (listener !== own) listener(opened);
      },
      listen(apply) {
        own = apply;
        listeners.add(apply);
        return () => listeners.delete(apply);
      },
    };
  };
}

function mapCache(): SharedResponseCache & { entries: Map<string, RouterResponse>; ttls: number[] } {
  const entries = new Map<string, RouterResponse>();
  const ttls: number[] = [];
  return {
    entries,
    ttls,
    async get(key) {
      return entries.get(key);
    },
    async set(key, response, ttlMs) {
      entries.set(key, response);
      ttls.push(ttlMs);
    },
  };
}

describe('routers sharing state (replicas)', () => {
  it('skips a provider whose circuit another router opened, without sending it anything', async () => {
    const connect = channel();
    const patch = { router: { breaker: { failure_threshold: 1, cooldown_seconds: 30 } } };
    const a = routerFor(fakeConfig(fakes, patch), { shared: { breakers: connect() } });
    const b = bed.use(routerFor(fakeConfig(fakes, patch), { shared: { breakers: connect() } }));
    try {
      fakes.cloud.enqueue({ fault: 'status', status: 503 });
      expect((await a.chat(ask('x'))).provider).toBe('ollama');
      expect(a.breakerStates().minimax).toBe('open');
      const response = await b.chat(ask('y'));
      expect(response.attempts[0]).toMatchObject({
        provider: 'minimax',
        skipped: true,
        error: { code: 'CIRCUIT_OPEN' },
      });
      expect(b.breakerStates().minimax).toBe('open');
      expect(fakes.cloud.requestsTo('/chat/completions')).toHaveLength(1);
    } finally {
      await a.close();
    }
  });

  it('does not echo an announcement back (one announcement per opened circuit)', async () => {
    const connect = channel();
    const first = connect();
    const patch = { router: { breaker: { failure_threshold: 1, cooldown_seconds: 30 } } };
    const a = routerFor(fakeConfig(fakes, patch), { shared: { breakers: first } });
    const b = bed.use(routerFor(fakeConfig(fakes, patch), { shared: { breakers: connect() } }));
    try {
      fakes.cloud.enqueue({ fault: 'status', status: 503 });
      await a.chat(ask('x'));
      expect(b.breakerStates().minimax).toBe('open');
      expect(first.sent).toHaveLength(1);
      expect(first.sent[0]?.provider).toBe('minimax');
    } finally {
      await a.close();
    }
  });

  it("serves another router's cached answer from the shared cache, with the configured TTL", async () => {
    const cache = mapCache();
    const patch = { router: { cache: { enabled: true, ttl_seconds: 42 } } };
    const a = routerFor(fakeConfig(fakes, patch), { shared: { cache } });
    const b: Router = bed.use(routerFor(fakeConfig(fakes, patch), { shared: { cache } }));
    try {
      const first = await a.chat(ask('same question'));
      const second = await b.chat(ask('same question'));
      expect(second).toMatchObject({ cached: true, content: first.content, attempts: [] });
      expect(cache.ttls).toEqual([42_000]);
      expect(fakes.cloud.requestsTo('/chat/completions')).toHaveLength(1);
    } finally {
      await a.close();
    }
  });
});
