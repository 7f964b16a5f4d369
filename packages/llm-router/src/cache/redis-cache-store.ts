import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';
import type { CacheStore, StoreLimits } from './cache-store';
import { readCachedResponse } from './cached-response';
import { loadStorePackage } from './optional-module';
import { responseCacheAddVectorScript, responseCacheSetScript } from './redis-scripts';
import { type StoredVector, type VectorRecord, vectorBytes, vectorFromBytes } from './vector-index';

type IoRedisModule = typeof import('ioredis');

type ScriptedRedis = Redis & {
  routerCacheSet(
    entry: string,
    index: string,
    vectorIndex: string,
    owners: string,
    value: string,
    ttlMs: number,
    cap: number,
  ): Promise<unknown>;
  routerCacheAddVector(
    hash: string,
    index: string,
    owners: string,
    field: string,
    value: string,
    ttlMs: number,
    cap: number,
    entryPrefix: string,
  ): Promise<unknown>;
};

export interface RedisCacheStoreOptions extends StoreLimits {
  url: string;
  /** Prefix of every key (`router.cache.redis_key_prefix`). */
  keyPrefix: string;
  /** Each command's timeout, and the first connection's wait. */
  timeoutMs: number;
  /** Loads ioredis (default `import('ioredis')`). */
  load?: () => Promise<unknown>;
}

/** `host:port` of a Redis URL, without credentials, for messages. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  } catch {
    return 'the configured Redis';
  }
}

/** A stored vector: the model that made it, its expiry on this process's clock, the float32 bytes in base64. */
const vectorValue = z.object({ m: z.string(), e: z.number(), v: z.string() });
type VectorValue = z.infer<typeof vectorValue>;

/** A stored vector, or undefined when the field is not one (corrupt, or another program's): it is skipped. */
function readVector(text: string): VectorValue | undefined {
  try {
    const parsed = vectorValue.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Answers and vectors in Redis, on a connection of the router's own (ioredis, an optional peer dependency loaded on
 * first use): shared by every router pointed at the same Redis and prefix. Answers are keys with a TTL, capped by a
 * sorted-set index; vectors are one hash per scope, capped the same way and dropped with their answers (one script,
 * shared with the gateway: `redis-scripts.ts`). Commands fail fast while Redis is away (no offline queue, one retry, a
 * command timeout) and ioredis reconnects in the background.
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';
  private connecting: Promise<ScriptedRedis> | undefined;
  private waitedForFirstConnection = false;
  private closed = false;
  private readonly prefix: string;

  constructor(private readonly options: RedisCacheStoreOptions) {
    // One hash tag for every key, so that a script's keys share a slot on a cluster too.
    this.prefix = `${options.keyPrefix}{cache}:`;
  }

  async get(key: string): Promise<RouterResponse | undefined> {
    const client = await this.client();
    const entry = `${this.prefix}entry:${key}`;
    const text = await client.get(entry);
    if (text === null) return undefined;
    try {
      return readCachedResponse(text, `${entry} in Redis at ${redisAddress(this.options.url)}`);
    } catch (error) {
      // Deleted, so that it is reported once; the next answer to this request is stored anew.
      await client.del(entry).catch(() => undefined);
      throw error;
    }
  }

  async set(key: string, response: RouterResponse): Promise<void> {
    const client = await this.client();
    await client.routerCacheSet(
      `${this.prefix}entry:${key}`,
      `${this.prefix}index`,
      `${this.prefix}vectors-index`,
      `${this.prefix}vector-owners`,
      JSON.stringify(response),
      Math.max(1, Math.round(this.options.ttlMs)),
      this.options.maxEntries,
    );
  }

  async vectors(scope: string, model: string): Promise<StoredVector[]> {
    const client = await this.client();
    const fields = await client.hgetall(`${this.prefix}vectors:${scope}`);
    const now = this.options.now();
    const out: StoredVector[] = [];
    for (const [key, text] of Object.entries(fields)) {
      const value = readVector(text);
      if (!value || value.m !== model || value.e <= now) continue;
      out.push({ key, vector: vectorFromBytes(Buffer.from(value.v, 'base64')) });
    }
    return out;
  }

  async addVector(record: VectorRecord): Promise<void> {
    const client = await this.client();
    const value: VectorValue = {
      m: record.model,
      e: this.options.now() + this.options.ttlMs,
      v: Buffer.from(vectorBytes(record.vector)).toString('base64'),
    };
    await client.routerCacheAddVector(
      `${this.prefix}vectors:${record.scope}`,
      `${this.prefix}vectors-index`,
      `${this.prefix}vector-owners`,
      record.key,
      JSON.stringify(value),
      Math.max(1, Math.round(this.options.ttlMs)),
      this.options.maxVectors,
      `${this.prefix}entry:`,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const connecting = this.connecting;
    if (!connecting) return;
    const client = await connecting.catch(() => undefined);
    await client?.quit().catch(() => client.disconnect());
  }

  private async client(): Promise<ScriptedRedis> {
    if (this.closed) throw this.closedError();
    this.connecting ??= this.connect();
    const client = await this.connecting;
    if (client.status !== 'ready' && !this.waitedForFirstConnection) {
      // Only the first use waits (bounded) for the connection; later, while Redis is away, commands fail at once.
      this.waitedForFirstConnection = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(this.options.timeoutMs, 1_000));
        function done() {
          clearTimeout(timer);
          client.off('ready', done);
          resolve();
        }
        client.once('ready', done);
      });
    }
    if (client.status !== 'ready') {
      throw new CacheError({
        code: 'STORE_UNAVAILABLE',
        message: `the response cache's Redis at ${redisAddress(this.options.url)} is not connected (${client.status})`,
        fix: 'start Redis or fix router.cache.redis_url; the router reconnects by itself, and answers without the cache meanwhile',
      });
    }
    return client;
  }

  private closedError(): CacheError {
    return new CacheError({
      code: 'STORE_UNAVAILABLE',
      message: `the response cache's Redis store (${redisAddress(this.options.url)}) was used after it was closed`,
      fix: 'close the router (or its cache) only after its last request has finished; until then it answers without the cache',
    });
  }

  private async connect(): Promise<ScriptedRedis> {
    const loaded = (await loadStorePackage(
      'redis',
      this.options.load ?? (() => import('ioredis')),
    )) as IoRedisModule & {
      default?: IoRedisModule['Redis'];
    };
    const RedisClass = loaded.Redis ?? loaded.default;
    if (this.closed) throw this.closedError();
    const { timeoutMs } = this.options;
    const options: RedisOptions = {
      connectTimeout: Math.max(timeoutMs, 2_000),
      commandTimeout: timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 50, 2_000),
      lazyConnect: false,
    };
    const client = new RedisClass(this.options.url, options) as ScriptedRedis;
    // ioredis reports connection errors as events; the failing commands report them to the cache.
    client.on('error', () => {});
    client.defineCommand('routerCacheSet', { numberOfKeys: 4, lua: responseCacheSetScript });
    client.defineCommand('routerCacheAddVector', { numberOfKeys: 3, lua: responseCacheAddVectorScript });
    return client;
  }
}
