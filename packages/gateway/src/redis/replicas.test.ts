// Three gateway replicas as real processes on one Redis, behind no load balancer but the test itself: what one replica
// learns (an opened circuit, a cached answer) the others act on, killing one loses only its own requests, and they keep
// serving while Redis is away.
import { afterEach, describe, expect, it } from 'vitest';
import { OwnRedis, redisMissing, redisServerInstalled } from '../__tests__/redis-servers';
import { breakerState, chat, metric, useReplicaBed } from '../__tests__/replica-processes';

const missing = await redisMissing();
if (missing) console.warn(`replicas.test.ts: skipping the replica tests: ${missing}`);

const bed = useReplicaBed();
const { replicaConfig, startReplicas } = bed;

describe.skipIf(!!missing)('three gateway replicas on one Redis (real processes)', () => {
  it('skips a provider on every replica once one replica opened its circuit, sending it nothing more', async () => {
    const config = await replicaConfig('breaker', [
      '  breaker:',
      '    failure_threshold: 1',
      '    cooldown_seconds: 30',
    ]);
    const [a, b, c] = await startReplicas(config);
    bed.cloud.enqueue({ fault: 'status', status: 503 });
    const first = await chat(a!.url, 'first');
    expect(first).toMatchObject({ status: 200, provider: 'ollama' });
    expect(await breakerState(a!.url, 'openai')).toBe('2');
    // Delivered through Redis pub/sub: B and C open the circuit without having sent the cloud anything.
    await expect
      .poll(() => Promise.all([breakerState(b!.url, 'openai'), breakerState(c!.url, 'openai')]))
      .toEqual(['2', '2']);
    for (const replica of [b!, c!, b!, c!]) {
      const answer = await chat(replica.url, 'next');
      expect(answer).toMatchObject({ status: 200, provider: 'ollama' });
      expect(answer.attempts).toMatch(/openai.*CIRCUIT_OPEN/);
    }
    expect(bed.cloud.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('serves on replica B the answer replica A cached, without asking any upstream', async () => {
    const config = await replicaConfig('cache', ['  cache:', '    enabled: true', '    ttl_seconds: 60']);
    const [a, b, c] = await startReplicas(config);
    bed.cloud.enqueue({ text: 'the cached answer' });
    expect(await chat(a!.url, 'same question')).toMatchObject({
      status: 200,
      content: 'the cached answer',
      provider: 'openai',
    });
    for (const replica of [b!, c!]) {
      const answer = await chat(replica.url, 'same question');
      expect(answer).toMatchObject({ status: 200, content: 'the cached answer', attempts: null });
    }
    expect(bed.cloud.requestsTo('/chat/completions')).toHaveLength(1);
    expect(bed.local.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('loses nothing but the killed replica’s own in-flight requests when one is SIGKILLed mid-load', async () => {
    const config = await replicaConfig('kill');
    const replicas = await startReplicas(config);
    const words = Array.from({ length: 10 }, (_, i) => `w${i}`).join(' ');
    bed.cloud.setDefault({ text: words, chunkDelayMs: 20 });
    const victim = replicas[2]!;
    let killed = false;
    let inFlightOnVictim = 0;
    let inFlightAtKill = -1;
    const results: { replica: number; ok: boolean; afterKill: boolean }[] = [];
    // Eight clients, each sending streaming requests round robin until 120 are done; C is killed a third in.
    let sent = 0;
    const client = async () => {
      while (sent < 120) {
        const index = sent++ % 3;
        const replica = replicas[index]!;
        if (index === 2) inFlightOnVictim++;
        const afterKill = killed;
        const ok = await chat(replica.url, `request ${sent}`, { stream: true }).then(
          (answer) => answer.status === 200 && answer.content === words,
          () => false,
        );
        if (index === 2) inFlightOnVictim--;
        results.push({ replica: index, ok, afterKill });
        if (!killed && results.length >= 40) {
          killed = true;
          inFlightAtKill = inFlightOnVictim;
          victim.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    await victim.exited;
    const survivors = results.filter((r) => r.replica !== 2);
    console.log(
      `killed replica C after 40 of 120 requests, ${inFlightAtKill} in flight on it: survivors answered ${survivors.filter((r) => r.ok).length} of ${survivors.length}; C lost ${results.filter((r) => r.replica === 2 && !r.ok && !r.afterKill).length} in flight and refused ${results.filter((r) => r.replica === 2 && r.afterKill).length} sent after the kill`,
    );
    expect(survivors.length).toBeGreaterThan(70);
    expect(survivors.every((r) => r.ok)).toBe(true);
    // The victim's losses: what it held at the kill, and what was sent to it after (a load balancer's retry case).
    const lostInFlight = results.filter((r) => r.replica === 2 && !r.ok && !r.afterKill);
    expect(lostInFlight.length).toBeLessThanOrEqual(inFlightAtKill);
    expect(results.filter((r) => r.replica === 2 && r.afterKill).every((r) => !r.ok)).toBe(true);
  });
});

describe.skipIf(!!missing || !redisServerInstalled)('replicas when Redis goes away (real processes)', () => {
  let redis: OwnRedis | undefined;
  afterEach(async () => {
    await redis?.stop();
    redis = undefined;
  });

  it('keep serving while Redis is away, say so in unity_redis_up, and share again once it is back', async () => {
    redis = await OwnRedis.start();
    const config = await replicaConfig(
      'outage',
      ['  cache:', '    enabled: true', '    ttl_seconds: 60'],
      {},
      redis.url,
    );
    const [a, b] = await startReplicas(config, 2);
    expect(await metric(a!.url, 'unity_redis_up')).toBe('1');
    await redis.stop();
    await expect
      .poll(() => Promise.all([metric(a!.url, 'unity_redis_up'), metric(b!.url, 'unity_redis_up')]))
      .toEqual(['0', '0']);
    // Every request is answered, by the upstream (the shared cache misses, fast: nothing waits for Redis).
    bed.cloud.setDefault({ text: 'answered without Redis' });
    const during = await Promise.all([a!, b!, a!, b!].map((r, i) => chat(r.url, `while away ${i}`)));
    expect(during.map((r) => [r.status, r.content])).toEqual(Array(4).fill([200, 'answered without Redis']));
    await redis.resume();
    await expect
      .poll(() => Promise.all([metric(a!.url, 'unity_redis_up'), metric(b!.url, 'unity_redis_up')]), {
        timeout: 10_000,
      })
      .toEqual(['1', '1']);
    bed.cloud.setDefault({ text: 'shared again' });
    expect(await chat(a!.url, 'after')).toMatchObject({ status: 200, content: 'shared again' });
    // The cache is written after the answer is sent: once A answers from Redis, the entry is there for B too.
    await expect.poll(async () => (await chat(a!.url, 'after')).attempts).toBeNull();
    const before = bed.cloud.requestsTo('/chat/completions').length;
    expect(await chat(b!.url, 'after')).toMatchObject({ status: 200, content: 'shared again', attempts: null });
    expect(bed.cloud.requestsTo('/chat/completions')).toHaveLength(before);
  });
});
