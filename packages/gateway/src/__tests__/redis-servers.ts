// Redis for the gateway's replica tests: the shared one CI starts (`.ci/run`: 127.0.0.1:6379, or
// UNITY_TEST_REDIS_URL), and throw-away `redis-server` processes on random ports that a test may kill and restart
// (Redis going away and coming back: test-kit's `OwnRedis`). Each test works under a key prefix of its own and removes
// its keys.
import { canStartRedisServer, listening } from '@unity/test-kit';
import { Redis } from 'ioredis';

export { OwnRedis } from '@unity/test-kit';

export const sharedRedisUrl = process.env.UNITY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Why the Redis tests cannot run here, or undefined when they can. */
export async function redisMissing(): Promise<string | undefined> {
  if (!(await listening(sharedRedisUrl, 6379)))
    return `nothing listens at ${sharedRedisUrl} (start Redis, as .ci/run does)`;
  return undefined;
}

/** True when `redis-server` can be started by the tests (for the ones that stop Redis). */
export const redisServerInstalled = canStartRedisServer();

let counter = 0;
/** A key prefix no other test (or test run) uses. */
export const uniquePrefix = (name: string) => `unity-test:${process.pid}:${Date.now()}:${name}:${counter++}:`;

/** Delete every key under `prefix` (SCAN, so that the shared Redis is never blocked). */
export async function removeKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Gone already.
  } finally {
    client.disconnect();
  }
}
