import { EvolutionError } from './errors';

/** Where evaluations are queued: a Redis URL and a queue name. */
export interface RedisQueueOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. */
  url: string;
  /** Default `unity-evolve`. */
  queue?: string;
  /** How long to wait for Redis before giving up. Default 5 000 ms. */
  connectTimeoutMs?: number;
}

export const defaultQueueName = 'unity-evolve';

type Bullmq = typeof import('bullmq');

/** Import bullmq only when distributed evaluation is used; it is an optional peer dependency. */
export async function loadBullmq(): Promise<Bullmq> {
  try {
    return await import('bullmq');
  } catch (error) {
    throw new EvolutionError({
      code: 'NOT_INSTALLED',
      message: 'distributed evaluation needs the optional dependency bullmq, which is not installed',
      fix: 'npm install bullmq',
      cause: error,
    });
  }
}

/** bullmq connection options from a Redis URL. */
export function connectionFromUrl(url: string, connectTimeoutMs: number) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw invalidUrl(url, 'it is not a URL', error);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw invalidUrl(url, `the scheme is ${parsed.protocol.replace(':', '')}, not redis or rediss`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw invalidUrl(url, `the database "${parsed.pathname.slice(1)}" is not a number`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: null,
  };
}

/** Resolve when `ready` does, or fail with QUEUE_FAILED naming the URL after the timeout. */
export async function readyWithin(ready: Promise<unknown>, url: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new EvolutionError({
                code: 'QUEUE_FAILED',
                message: `cannot reach Redis at ${redact(url)} within ${timeoutMs} ms (connectTimeoutMs)`,
                fix: 'start Redis (redis-server) or pass the right --redis URL',
              }),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function invalidUrl(url: string, why: string, cause?: unknown): EvolutionError {
  return new EvolutionError({
    code: 'INVALID_OPTIONS',
    message: `the Redis URL "${redact(url)}" is invalid: ${why}`,
    fix: 'use redis://host:6379 (or rediss:// for TLS)',
    cause,
  });
}
