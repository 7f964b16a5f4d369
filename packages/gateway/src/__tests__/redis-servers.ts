// Redis for the gateway's replica tests: the shared one CI starts (`.ci/run`: 127.0.0.1:6379, or
// UNITY_TEST_REDIS_URL), and throw-away `redis-server` processes on random ports that a test may kill and restart
// (Redis going away and coming back). Each test works under a key prefix of its own and removes its keys.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { listening } from '@unity/test-kit';
import { Redis } from 'ioredis';

export const sharedRedisUrl = process.env.UNITY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Why the Redis tests cannot run here, or undefined when they can. */
export async function redisMissing(): Promise<string | undefined> {
  if (!(await listening(sharedRedisUrl, 6379)))
    return `nothing listens at ${sharedRedisUrl} (start Redis, as .ci/run does)`;
  return undefined;
}

/** True when `redis-server` can be started by the tests (for the ones that stop Redis). */
export const redisServerInstalled = spawnSync('redis-server', ['--version']).status === 0;

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

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A `redis-server` of the test's own (no persistence) that can be stopped and started again on the same port. */
export class OwnRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.resume();
    return redis;
  }

  /** Start it (again) on its port and wait until it answers; nothing when it runs. */
  async resume(): Promise<void> {
    if (this.child && this.child.exitCode === null) return;
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5_000;
    while (!(await listening(this.url, this.port, 200))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Kill it (SIGKILL: as a crash, nothing flushed). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
