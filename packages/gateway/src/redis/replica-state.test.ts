import type { BreakerAnnouncement, RouterResponse } from '@unity/llm-router';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  OwnRedis,
  redisMissing,
  redisServerInstalled,
  removeKeys,
  sharedRedisUrl,
  uniquePrefix,
} from '../__tests__/redis-servers';
import { GatewayError } from '../errors';
import { EventBus } from '../event-bus';
import type { KeyRecord } from '../keys/store';
import { GatewayMetrics } from '../metrics';
import { openRedisVirtualKeys } from './redis-virtual-keys';
import { ReplicaState } from './replica-state';

const missing = await redisMissing();
if (missing) console.warn(`replica-state.test.ts: skipping the Redis tests: ${missing}`);

const opened: ReplicaState[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((state) => state.close()));
  await Promise.all(prefixes.splice(0).map((prefix) => removeKeys(sharedRedisUrl, prefix)));
});

/** Replicas sharing one Redis under one prefix, as gateways started with the same server.redis_* settings. */
async function replicas(
  count: number,
  options: { url?: string; failure?: 'open' | 'closed'; cacheMaxEntries?: number; prefix?: string } = {},
) {
  const prefix = options.prefix ?? uniquePrefix('state');
  prefixes.push(prefix);
  const states = Array.from({ length: count }, () => {
    const bus = new EventBus();
    const state = new ReplicaState({
      url: options.url ?? sharedRedisUrl,
      failure: options.failure ?? 'open',
      timeoutMs: 300,
      keyPrefix: prefix,
      cacheMaxEntries: options.cacheMaxEntries ?? 100,
      bus,
    });
    const metrics = new GatewayMetrics({ processMetrics: false });
    state.attach(metrics);
    opened.push(state);
    return Object.assign(state, { bus, gauges: metrics });
  });
  await Promise.all(states.map((state) => state.ready(2_000)));
  return states;
}

const answer = (content: string): RouterResponse => ({
  content,
  toolCalls: [],
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  finishReason: 'stop',
  model: 'minimax-m2',
  provider: 'minimax',
  attempts: [],
});

const record = (overrides: Partial<KeyRecord> = {}): KeyRecord => ({
  id: 'key_a',
  name: 'team a',
  hash: 'a'.repeat(64),
  prefix: 'uk-aaaa',
  createdAt: 1_000,
  budgetPeriod: 'month',
  ...overrides,
});

const minute = 60_000;
const t0 = 1_800_000_000_000 - (1_800_000_000_000 % minute);

function admission(keyId: string, now: number, limits: { rpm?: number; tpm?: number; budgetMicros?: number }, n = 0) {
  return {
    keyId,
    reservationId: `r-${now}-${n}-${Math.random()}`,
    now,
    limits: { period: '2027-01', ...limits },
    estimatedTokens: 100,
    estimatedMicros: 1_000,
    reservationTtlMs: 5 * minute,
  };
}

describe.skipIf(!!missing)('replicas sharing Redis', () => {
  describe('response cache', () => {
    it("serves one replica's stored answer on another", async () => {
      const [a, b] = await replicas(2);
      await a!.shared.cache.set('k1', answer('from a'), 10_000);
      expect(await b!.shared.cache.get('k1')).toMatchObject({ content: 'from a', provider: 'minimax' });
      expect(await b!.shared.cache.get('k2')).toBeUndefined();
    });

    it('forgets an entry after its TTL', async () => {
      const [a] = await replicas(1);
      await a!.shared.cache.set('short', answer('x'), 60);
      expect(await a!.shared.cache.get('short')).toBeDefined();
      await new Promise((r) => setTimeout(r, 150));
      expect(await a!.shared.cache.get('short')).toBeUndefined();
    });

    it('keeps at most max_entries, evicting the oldest', async () => {
      const [a] = await replicas(1, { cacheMaxEntries: 3 });
      for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await a!.shared.cache.set(key, answer(key), 10_000);
      const kept = await Promise.all(['k1', 'k2', 'k3', 'k4', 'k5'].map((key) => a!.shared.cache.get(key)));
      expect(kept.map((r) => r?.content ?? null)).toEqual([null, null, 'k3', 'k4', 'k5']);
      expect(await a!.connection.client.zcard(`${a!.connection.keyPrefix}{cache}:index`)).toBe(3);
    });
  });

  describe('breaker channel', () => {
    it('delivers a circuit opened by one replica to the others, not back to itself', async () => {
      const [a, b, c] = await replicas(3);
      const seen = new Map<ReplicaState, BreakerAnnouncement[]>();
      for (const state of [a!, b!, c!]) {
        const list: BreakerAnnouncement[] = [];
        seen.set(state, list);
        state.shared.breakers.listen((opened) => list.push(opened));
      }
      // Subscriptions are asynchronous: wait until Redis counts all three.
      const channel = `${a!.connection.keyPrefix}breakers`;
      await expect
        .poll(async () => ((await a!.connection.client.pubsub('NUMSUB', channel)) as [string, number])[1])
        .toBe(3);
      const until = Date.now() + 30_000;
      a!.shared.breakers.announce({ provider: 'minimax', until });
      await expect.poll(() => [seen.get(b!)!.length, seen.get(c!)!.length]).toEqual([1, 1]);
      expect(seen.get(b!)).toEqual([{ provider: 'minimax', until }]);
      expect(seen.get(a!)).toEqual([]);
    });

    it('tells a replica that starts later about a circuit still open', async () => {
      const prefix = uniquePrefix('late');
      const [a] = await replicas(1, { prefix });
      const until = Date.now() + 30_000;
      a!.shared.breakers.announce({ provider: 'minimax', until });
      await expect.poll(() => a!.connection.client.hlen(`${prefix}breakers:open`)).toBe(1);
      const [late] = await replicas(1, { prefix });
      const seen: BreakerAnnouncement[] = [];
      late!.shared.breakers.listen((opened) => seen.push(opened));
      await expect.poll(() => seen).toEqual([{ provider: 'minimax', until }]);
    });

    it('does not deliver a circuit whose cooldown is over', async () => {
      const prefix = uniquePrefix('stale');
      const [a] = await replicas(1, { prefix });
      a!.shared.breakers.announce({ provider: 'minimax', until: Date.now() - 1 });
      await expect.poll(() => a!.connection.client.hlen(`${prefix}breakers:open`)).toBe(1);
      const [late] = await replicas(1, { prefix });
      const seen: BreakerAnnouncement[] = [];
      late!.shared.breakers.listen((opened) => seen.push(opened));
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual([]);
    });
  });

  describe('key store', () => {
    it('finds a key created through one replica on another, and not after it is revoked there', async () => {
      const [a, b] = await replicas(2);
      await a!.keyStore.create(record({ models: ['unity'], rpm: 5, budgetMicros: 10_000_000, expiresAt: 9_000 }));
      expect(await b!.keyStore.findByHash('a'.repeat(64))).toEqual(
        record({ models: ['unity'], rpm: 5, budgetMicros: 10_000_000, expiresAt: 9_000 }),
      );
      expect(await b!.keyStore.revoke('key_a', 2_000)).toMatchObject({ revokedAt: 2_000 });
      expect(await a!.keyStore.findByHash('a'.repeat(64))).toMatchObject({ revokedAt: 2_000 });
      expect(await a!.keyStore.revoke('key_a', 3_000)).toMatchObject({ revokedAt: 2_000 });
      expect(await a!.keyStore.revoke('key_none', 3_000)).toBeUndefined();
    });

    it('refuses a second key with the same id or secret', async () => {
      const [a] = await replicas(1);
      await a!.keyStore.create(record());
      await expect(a!.keyStore.create(record({ hash: 'b'.repeat(64) }))).rejects.toThrow(/key_a exists/);
      await expect(a!.keyStore.create(record({ id: 'key_b' }))).rejects.toThrow(/secret exists/);
    });

    it('rotates: the new secret finds the key, the old one nothing; a revoked key does not rotate', async () => {
      const [a, b] = await replicas(2);
      await a!.keyStore.create(record());
      const rotated = await a!.keyStore.rotate('key_a', { hash: 'c'.repeat(64), prefix: 'uk-cccc' }, 5_000);
      expect(rotated).toMatchObject({ hash: 'c'.repeat(64), prefix: 'uk-cccc', rotatedAt: 5_000 });
      expect(await b!.keyStore.findByHash('a'.repeat(64))).toBeUndefined();
      expect(await b!.keyStore.findByHash('c'.repeat(64))).toMatchObject({ id: 'key_a' });
      await a!.keyStore.revoke('key_a', 6_000);
      expect(await a!.keyStore.rotate('key_a', { hash: 'd'.repeat(64), prefix: 'uk-dddd' }, 7_000)).toBeUndefined();
    });

    it('tells the other replicas that a key now exists (so that they ask every caller for one)', async () => {
      const [a, b] = await replicas(2);
      expect([a!.keyStore.size, b!.keyStore.size]).toEqual([0, 0]);
      await a!.keyStore.create(record());
      expect(a!.keyStore.size).toBe(1);
      await expect.poll(() => b!.keyStore.size).toBe(1);
    });

    it('lists keys oldest first', async () => {
      const [a] = await replicas(1);
      await a!.keyStore.create(record({ id: 'key_new', hash: 'e'.repeat(64), createdAt: 3_000 }));
      await a!.keyStore.create(record({ id: 'key_old', hash: 'f'.repeat(64), createdAt: 1_000 }));
      expect((await a!.keyStore.list()).map((r) => r.id)).toEqual(['key_old', 'key_new']);
      expect(await a!.keyStore.get('key_old')).toMatchObject({ createdAt: 1_000 });
    });
  });

  describe('openRedisVirtualKeys (unity keys with server.redis_url)', () => {
    it('manages the keys every replica sees, and closes its connection with them', async () => {
      const prefix = uniquePrefix('cli');
      const [replica] = await replicas(1, { prefix });
      const keys = await openRedisVirtualKeys({ url: sharedRedisUrl, keyPrefix: prefix });
      const created = await keys.create({ name: 'from the cli', rpm: 5 });
      const stored = await keys.keys.get(created.record.id);
      expect(await replica!.keyStore.findByHash(stored?.hash ?? '')).toMatchObject({ name: 'from the cli', rpm: 5 });
      expect((await keys.list()).map((k) => k.name)).toEqual(['from the cli']);
      await keys.close();
      await expect(keys.list()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    });

    it('fails with STORE_UNAVAILABLE when Redis cannot be reached', async () => {
      await expect(openRedisVirtualKeys({ url: 'redis://127.0.0.1:1', timeoutMs: 100 })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        status: 503,
      });
    });
  });

  describe('usage store', () => {
    it('admits exactly rpm requests of 60 sent at once through three replicas', async () => {
      const states = await replicas(3);
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          states[i % 3]!.usageStore.admit(admission('key_r', t0 + 1_000, { rpm: 7 }, i)),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(7);
      const refused = results.find((r) => !r.ok);
      expect(refused).toMatchObject({ ok: false, limit: 'rpm', used: 7, max: 7 });
      expect(refused?.ok === false && refused.retryAfterMs).toBe(60_000);
    });

    it('counts the requests of the last 60 s exactly, however they bunch at a minute’s edge (a sliding log)', async () => {
      const [a] = await replicas(1);
      // 10 at the end of one minute: the next minute's first 50 s has no room (a counter would let 8 more in by then).
      for (let i = 0; i < 10; i++) {
        expect((await a!.usageStore.admit(admission('key_w', t0 + 59_000, { rpm: 10 }, i))).ok).toBe(true);
      }
      const refused = await a!.usageStore.admit(admission('key_w', t0 + minute + 50_000, { rpm: 10 }, 100));
      expect(refused).toMatchObject({ ok: false, limit: 'rpm', used: 10, retryAfterMs: 9_000 });
      expect((await a!.usageStore.admit(admission('key_w', t0 + minute + 59_001, { rpm: 10 }, 101))).ok).toBe(true);
    });

    it('counts estimated tokens at once and corrects them by the actual ones on settle', async () => {
      const [a] = await replicas(1);
      const first = await a!.usageStore.admit({ ...admission('key_t', t0, { tpm: 250 }), estimatedTokens: 200 });
      expect(first.ok).toBe(true);
      expect((await a!.usageStore.admit({ ...admission('key_t', t0, { tpm: 250 }), estimatedTokens: 100 })).ok).toBe(
        false,
      );
      if (!first.ok) throw new Error('unreachable');
      await a!.usageStore.settle({
        reservation: first.reservation,
        now: t0 + 10,
        model: 'minimax/MiniMax-M2',
        day: '2027-01-15',
        inputTokens: 20,
        outputTokens: 30,
        costMicros: 0,
      });
      expect(
        (await a!.usageStore.admit({ ...admission('key_t', t0 + 20, { tpm: 250 }), estimatedTokens: 100 })).ok,
      ).toBe(true);
    });

    it('serves one request larger than tpm into an empty window', async () => {
      const [a] = await replicas(1);
      expect((await a!.usageStore.admit({ ...admission('key_big', t0, { tpm: 50 }), estimatedTokens: 500 })).ok).toBe(
        true,
      );
      expect((await a!.usageStore.admit({ ...admission('key_big', t0, { tpm: 50 }), estimatedTokens: 1 })).ok).toBe(
        false,
      );
    });

    it('holds a budget across replicas: reserved estimates count until settled, spend after', async () => {
      const states = await replicas(3);
      // Budget 10 000 µ$, each request reserving 1 000: 10 admitted of 30 at once.
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          states[i % 3]!.usageStore.admit(admission('key_b', t0, { budgetMicros: 10_000 }, i)),
        ),
      );
      const admitted = results.filter((r) => r.ok);
      expect(admitted).toHaveLength(10);
      expect(await states[1]!.usageStore.budgetState('key_b', '2027-01', t0)).toEqual({
        spentMicros: 0,
        reservedMicros: 10_000,
      });
      // Each actually cost 400: settled, 4 000 spent, room for more.
      for (const [i, result] of admitted.entries()) {
        if (!result.ok) continue;
        await states[i % 3]!.usageStore.settle({
          reservation: result.reservation,
          now: t0 + 1,
          model: 'minimax/MiniMax-M2',
          day: '2027-01-15',
          inputTokens: 10,
          outputTokens: 10,
          costMicros: 400,
        });
      }
      expect(await states[2]!.usageStore.budgetState('key_b', '2027-01', t0 + 2)).toEqual({
        spentMicros: 4_000,
        reservedMicros: 0,
      });
      expect(await states[0]!.usageStore.spend({ keyId: 'key_b' })).toEqual([
        {
          keyId: 'key_b',
          model: 'minimax/MiniMax-M2',
          day: '2027-01-15',
          requests: 10,
          inputTokens: 100,
          outputTokens: 100,
          costMicros: 4_000,
        },
      ]);
    });

    it('counts a settlement once when it is replayed', async () => {
      const [a] = await replicas(1);
      const result = await a!.usageStore.admit(admission('key_s', t0, { budgetMicros: 10_000 }));
      if (!result.ok) throw new Error('refused');
      const settlement = {
        reservation: result.reservation,
        now: t0 + 1,
        model: 'm',
        day: '2027-01-15',
        inputTokens: 1,
        outputTokens: 1,
        costMicros: 700,
      };
      await a!.usageStore.settle(settlement);
      await a!.usageStore.settle(settlement);
      expect(await a!.usageStore.budgetState('key_s', '2027-01', t0 + 2)).toEqual({
        spentMicros: 700,
        reservedMicros: 0,
      });
    });

    it('releases the reservation of a request never settled (its replica died) after its TTL', async () => {
      const [a] = await replicas(1);
      const result = await a!.usageStore.admit({
        ...admission('key_d', t0, { budgetMicros: 1_000 }),
        reservationTtlMs: 1_000,
      });
      expect(result.ok).toBe(true);
      expect((await a!.usageStore.admit(admission('key_d', t0 + 500, { budgetMicros: 1_000 }))).ok).toBe(false);
      expect((await a!.usageStore.admit(admission('key_d', t0 + 1_001, { budgetMicros: 1_000 }))).ok).toBe(true);
    });

    it('filters spend by day', async () => {
      const [a] = await replicas(1);
      for (const day of ['2027-01-14', '2027-01-15', '2027-01-16']) {
        const result = await a!.usageStore.admit(admission('key_f', t0, {}));
        if (!result.ok) throw new Error('refused');
        await a!.usageStore.settle({
          reservation: result.reservation,
          now: t0,
          model: 'm',
          day,
          inputTokens: 1,
          outputTokens: 2,
          costMicros: 3,
        });
      }
      expect((await a!.usageStore.spend({ fromDay: '2027-01-15', toDay: '2027-01-15' })).map((r) => r.day)).toEqual([
        '2027-01-15',
      ]);
      expect(await a!.usageStore.spend({ keyId: 'key_other' })).toEqual([]);
    });
  });
});

describe.skipIf(!!missing || !redisServerInstalled)('when Redis goes away', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await OwnRedis.start();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await redis.resume().catch(() => {});
  });

  it('fails open: admits unchecked, counts it, says so on the bus, and checks again once Redis is back', async () => {
    const [a] = await replicas(1, { url: redis.url, failure: 'open' });
    const events: string[] = [];
    a!.bus.subscribe((event) => events.push(event.type));
    expect((await a!.usageStore.admit(admission('key_o', t0, { rpm: 1 }))).ok).toBe(true);
    await redis.stop();
    await expect.poll(() => a!.connection.up).toBe(false);
    const down = await Promise.all([1, 2, 3].map((i) => a!.usageStore.admit(admission('key_o', t0, { rpm: 1 }, i))));
    expect(down.map((r) => r.ok)).toEqual([true, true, true]);
    expect(events).toContain('redis.down');
    const metrics = await a!.gauges.text();
    expect(metrics).toMatch(/unity_redis_up 0/);
    expect(metrics).toMatch(/unity_redis_fail_open_total\{op="limits.admit"\} 3/);
    await redis.resume();
    await expect.poll(() => a!.connection.up, { timeout: 5_000 }).toBe(true);
    expect(events).toContain('redis.up');
    expect(await a!.gauges.text()).toMatch(/unity_redis_up 1/);
    // The restarted Redis is empty: the window starts again, and holds.
    const back = await Promise.all([1, 2].map((i) => a!.usageStore.admit(admission('key_o', t0, { rpm: 1 }, 10 + i))));
    expect(back.map((r) => r.ok).sort()).toEqual([false, true]);
  });

  it('fails closed: refuses with 503 STORE_UNAVAILABLE and Retry-After, at once rather than queued', async () => {
    const [a] = await replicas(1, { url: redis.url, failure: 'closed' });
    await redis.stop();
    await expect.poll(() => a!.connection.up).toBe(false);
    const started = Date.now();
    const error = await a!.usageStore.admit(admission('key_c', t0, { rpm: 1 })).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(GatewayError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, retryAfterSeconds: 1 });
  });

  it('answers a key it has seen from its last copy when failing open, refuses one it has not, and keeps spend until Redis is back', async () => {
    const [a] = await replicas(1, { url: redis.url, failure: 'open' });
    await a!.keyStore.create(record());
    expect(await a!.keyStore.findByHash('a'.repeat(64))).toMatchObject({ id: 'key_a' });
    const result = await a!.usageStore.admit(admission('key_a', t0, {}));
    if (!result.ok) throw new Error('refused');
    await redis.stop();
    await expect.poll(() => a!.connection.up).toBe(false);
    expect(await a!.keyStore.findByHash('a'.repeat(64))).toMatchObject({ id: 'key_a' });
    await expect(a!.keyStore.findByHash('b'.repeat(64))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await a!.usageStore.settle({
      reservation: result.reservation,
      now: t0,
      model: 'm',
      day: '2027-01-15',
      inputTokens: 1,
      outputTokens: 1,
      costMicros: 250,
    });
    expect(a!.usageStore.pendingSettlements).toBe(1);
    await redis.resume();
    await expect.poll(() => a!.usageStore.pendingSettlements, { timeout: 5_000 }).toBe(0);
    expect(await a!.usageStore.spend({ keyId: 'key_a' })).toMatchObject([{ requests: 1, costMicros: 250 }]);
  });
});
