import type { RouterResponse } from '@unity/llm-router';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OwnRedis, redisServerInstalled } from '../__tests__/redis-servers';
import { RedisConnection } from './redis-connection';
import { RedisFailurePolicy, type RedisFailureReport } from './redis-failure-policy';
import { RedisResponseCache } from './redis-response-cache';

if (!redisServerInstalled) console.warn('skipping the shared response cache tests: redis-server is not installed');

const answer = (content: string): RouterResponse => ({
  content,
  toolCalls: [],
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  finishReason: 'stop',
  model: 'm',
  provider: 'p',
  attempts: [],
});

describe.skipIf(!redisServerInstalled)('RedisResponseCache', () => {
  let redis: OwnRedis;
  let counter = 0;
  const connections: RedisConnection[] = [];
  beforeAll(async () => {
    redis = await OwnRedis.start();
  });
  afterAll(() => redis?.stop());
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
  });

  async function open(maxEntries = 10) {
    const connection = new RedisConnection({ url: redis.url, timeoutMs: 500, keyPrefix: `gw-cache-${counter++}:` });
    connections.push(connection);
    await connection.ready();
    const reports: RedisFailureReport[] = [];
    const policy = new RedisFailurePolicy({ mode: 'open', where: 'test', report: (r) => reports.push(r) });
    return { cache: new RedisResponseCache({ connection, policy, maxEntries }), connection, reports };
  }

  it('returns what it stored, and keeps at most maxEntries (the oldest go first)', async () => {
    const { cache } = await open(2);
    for (const key of ['a', 'b', 'c']) await cache.set(key, answer(key), 60_000);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toEqual(answer('b'));
    expect(await cache.get('c')).toEqual(answer('c'));
  });

  it('reads a corrupt or foreign entry as a miss, reported once, and deletes it', async () => {
    const { cache, connection, reports } = await open();
    const entry = `${connection.keyPrefix}{cache}:entry:k`;
    for (const text of ['{not json', JSON.stringify({ ...answer('x'), usage: 'lots' })]) {
      await connection.client.set(entry, text);
      expect(await cache.get('k')).toBeUndefined();
      expect(await connection.client.exists(entry)).toBe(0);
      expect(await cache.get('k')).toBeUndefined();
    }
    expect(reports.map((r) => [r.op, (r.error as { code?: string }).code])).toEqual([
      ['cache.get', 'ENTRY_INVALID'],
      ['cache.get', 'ENTRY_INVALID'],
    ]);
  });
});
