// Virtual keys on three gateway replicas as real processes on one Redis: a key created, rotated or revoked through one
// replica's admin API applies on the others at once; an rpm limit and a budget hold across them.
import { afterEach, describe, expect, it } from 'vitest';
import { OwnRedis, redisMissing, redisServerInstalled } from '../__tests__/redis-servers';
import { useReplicaBed } from '../__tests__/replica-processes';

const missing = await redisMissing();
if (missing) console.warn(`replicas-keys.test.ts: skipping the replica tests: ${missing}`);

const bed = useReplicaBed();
const { replicaConfig, startReplicas } = bed;

const master = 'master-key-for-replica-tests';
const prices = "{'openai/MiniMax-M2': {input_per_mtok: 1000, output_per_mtok: 2000}}";

async function admin(url: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${master}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: bodies of several shapes, each checked by the assertions
  return { status: response.status, body: (await response.json()) as any };
}

function keyed(url: string, key: string, body: Record<string, unknown> = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, ...body }),
  }).then(async (response) => ({ status: response.status, text: await response.text() }));
}

describe.skipIf(!!missing)('virtual keys across three replicas (real processes)', () => {
  it("applies a key created, rotated or revoked through one replica's admin API on the others at once", async () => {
    const [a, b, c] = await startReplicas(await replicaConfig('keys', [], { api_key: master, prices }));
    const created = await admin(a!.url, '/admin/keys', { name: 'team', rpm: 1000 });
    expect(created.status).toBe(201);
    const { key, id } = created.body as { key: string; id: string };
    // No wait: the very next request to another replica knows the key.
    expect((await keyed(b!.url, key)).status).toBe(200);
    expect((await keyed(c!.url, key)).status).toBe(200);
    expect((await admin(c!.url, '/admin/keys')).body.keys.map((k: { id: string }) => k.id)).toEqual([id]);
    const rotated = await admin(c!.url, `/admin/keys/${id}/rotate`, {});
    expect(rotated.status).toBe(200);
    expect((await keyed(a!.url, key)).status).toBe(401);
    expect((await keyed(b!.url, rotated.body.key)).status).toBe(200);
    expect((await admin(b!.url, `/admin/keys/${id}/revoke`, {})).status).toBe(200);
    const afterRevoke = await Promise.all([a!, b!, c!].map((r) => keyed(r.url, rotated.body.key)));
    expect(afterRevoke.map((r) => r.status)).toEqual([401, 401, 401]);
    expect(afterRevoke[0]!.text).toContain('revoked');
  });

  it('holds an rpm limit across three replicas at ten times the limit (simulated clock, three minutes)', async () => {
    // The replicas' clock runs 20× as fast from mid-minute: 3 simulated minutes take 9 s.
    const speed = 20;
    const simulated0 = Date.UTC(2027, 0, 4, 10, 0, 30);
    const real0 = Date.now();
    const simulatedNow = () => simulated0 + (Date.now() - real0) * speed;
    const env = { UNITY_TEST_CLOCK: `${simulated0},${real0},${speed}` };
    const replicas = await startReplicas(await replicaConfig('rpm', [], { api_key: master, prices }), 3, env);
    const rpm = 6;
    const { key } = (await admin(replicas[0]!.url, '/admin/keys', { name: 'limited', rpm })).body as { key: string };
    // 10 × rpm requests per simulated minute, evenly, round robin over the replicas, for 3 simulated minutes.
    const perMinute = 10 * rpm;
    const intervalMs = 60_000 / perMinute / speed;
    const started = simulatedNow();
    const admitted: number[] = [];
    const statuses = new Map<number, number>();
    const pending: Promise<void>[] = [];
    for (let i = 0; simulatedNow() < started + 3 * 60_000; i++) {
      const at = simulatedNow();
      pending.push(
        keyed(replicas[i % 3]!.url, key).then((r) => {
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) admitted.push((at + simulatedNow()) / 2);
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await Promise.all(pending);
    admitted.sort((x, y) => x - y);
    // The most admitted in any 60 s window (simulated), sliding over every admission.
    let most = 0;
    for (let i = 0, j = 0; i < admitted.length; i++) {
      while ((admitted[i] as number) - (admitted[j] as number) >= 60_000) j++;
      most = Math.max(most, i - j + 1);
    }
    console.log(
      `rpm ${rpm} at ${perMinute}/min over 3 replicas for 3 min: ${admitted.length} admitted of ${[...statuses.values()].reduce((x, y) => x + y, 0)} (${JSON.stringify(Object.fromEntries(statuses))}); most in any 60 s window ${most}, over the limit: ${Math.max(0, most - rpm)}`,
    );
    expect([...statuses.keys()].every((status) => status === 200 || status === 429)).toBe(true);
    expect(most - rpm).toBeLessThanOrEqual(3);
    expect(admitted.length).toBeGreaterThanOrEqual(3 * rpm - 1);
  });

  it('holds a budget across three replicas under 50 concurrent requests, overshooting by less than one reservation', async () => {
    const [a, b, c] = await startReplicas(await replicaConfig('budget', [], { api_key: master, prices }));
    // Each answer: 50 output tokens (max_tokens 50) — about $0.11 at the test prices; a reservation about $0.125.
    bed.cloud.setDefault({ text: Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '), delayMs: 100 });
    const budget = 1;
    const { key, id } = (await admin(a!.url, '/admin/keys', { name: 'shared-budget', budget_usd: budget })).body as {
      key: string;
      id: string;
    };
    const replicas = [a!, b!, c!];
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => keyed(replicas[i % 3]!.url, key).then((r) => r.status)),
    );
    // Then one at a time until refused, so that the whole budget is used.
    for (let i = 0; i < 20; i++) if ((await keyed(replicas[i % 3]!.url, key)).status === 429) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const spent = (await admin(b!.url, `/admin/spend?key=${id}`)).body.total.cost_usd as number;
    const served = statuses.filter((s) => s === 200).length;
    const overshoot = Math.max(0, spent - budget);
    console.log(
      `budget $${budget} across 3 replicas, 50 concurrent requests: ${served} served at once, spent $${spent} in all, overshoot $${overshoot.toFixed(3)}`,
    );
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(served).toBeGreaterThan(0);
    expect(spent).toBeGreaterThan(budget - 0.125);
    expect(overshoot).toBeLessThan(0.125);
    for (const replica of replicas) expect((await keyed(replica.url, key)).status).toBe(429);
  });
});

describe.skipIf(!!missing || !redisServerInstalled)(
  'virtual keys on replicas while Redis is away (real processes)',
  () => {
    let redis: OwnRedis | undefined;
    afterEach(async () => {
      await redis?.stop();
      redis = undefined;
    });

    it('fail open: a key this replica has seen is served past its limit, a key it never saw gets 503, and it is counted', async () => {
      redis = await OwnRedis.start();
      const config = await replicaConfig(
        'fail-open',
        [],
        { api_key: master, prices, redis_failure: 'open' },
        redis.url,
      );
      const [a, b] = await startReplicas(config, 2);
      const { key } = (await admin(a!.url, '/admin/keys', { name: 'seen', rpm: 1 })).body as { key: string };
      const { key: unseen } = (await admin(a!.url, '/admin/keys', { name: 'unseen', rpm: 1 })).body as { key: string };
      expect((await keyed(a!.url, key)).status).toBe(200);
      expect((await keyed(b!.url, key)).status).toBe(429);
      await redis.stop();
      // Admitted unchecked (over its rpm of 1), counted; the key B never looked up cannot be checked: 503.
      expect([(await keyed(a!.url, key)).status, (await keyed(a!.url, key)).status]).toEqual([200, 200]);
      const never = await keyed(b!.url, unseen);
      expect(never.status).toBe(503);
      expect(never.text).toContain('Redis');
      const metrics = await (
        await fetch(`${a!.url}/metrics`, { headers: { authorization: `Bearer ${master}` } })
      ).text();
      expect(metrics).toMatch(/unity_redis_up 0/);
      expect(metrics).toMatch(/unity_redis_fail_open_total\{op="limits.admit"\} 2/);
    });

    it('fail closed: a keyed request gets 503 STORE_UNAVAILABLE with Retry-After; the master key is still served', async () => {
      redis = await OwnRedis.start();
      const config = await replicaConfig(
        'fail-closed',
        [],
        { api_key: master, prices, redis_failure: 'closed' },
        redis.url,
      );
      const [a, b] = await startReplicas(config, 2);
      const { key } = (await admin(a!.url, '/admin/keys', { name: 'closed', rpm: 100 })).body as { key: string };
      expect((await keyed(b!.url, key)).status).toBe(200);
      await redis.stop();
      const refused = await fetch(`${b!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
      // The master key needs no Redis: still served.
      expect((await keyed(a!.url, master)).status).toBe(200);
    });
  },
);
