import type { Redis, RedisOptions } from 'ioredis';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';
import type { CacheStore, StoreLimits } from './cache-store';
import { loadStorePackage } from './optional-module';
import { type StoredVector, type VectorRecord, vectorBytes, vectorFromBytes } from './vector-index';

type IoRedisModule = typeof import('ioredis');

/**
 * Store an answer with its TTL (PX) and index it by expiry in a sorted set; drop index entries that expired, then
 * evict the entries closest to expiry (with one TTL for all: the oldest) while more than the cap remain. Redis's
 * clock (TIME) is the only clock. KEYS[1] entry, KEYS[2] index; ARGV[1] value, ARGV[2] TTL (ms), ARGV[3] cap.
 */
const setScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local victims = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #victims, 2 do redis.call('DEL', victims[i]) end
end
return 0
`;

/**
 * Add a vector to its scope's hash (field: the answer's key) and to the vectors' expiry index (member
 * `<hash>\n<field>`); drop the fields whose index entry expired, then the oldest beyond the cap. KEYS[1] the scope's
 * hash, KEYS[2] the index; ARGV[1] field, ARGV[2] value, ARGV[3] TTL (ms), ARGV[4] cap.
 */
const addVectorScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1] .. '\\n' .. ARGV[1])
local function drop(members)
  for i = 1, #members do
    local cut = string.find(members[i], '\\n', 1, true)
    redis.call('HDEL', string.sub(members[i], 1, cut - 1), string.sub(members[i], cut + 1))
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  local members = {}
  for i = 1, #popped, 2 do members[#members + 1] = popped[i] end
  drop(members)
end
return 0
`;

type ScriptedRedis = Redis & {
  routerCacheSet(entry: string, index: string, value: string, ttlMs: number, cap: number): Promise<unknown>;
  routerCacheAddVector(
    hash: string,
    index: string,
    field: string,
    value: string,
    ttlMs: number,
    cap: number,
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
interface VectorValue {
  m: string;
  e: number;
  v: string;
}

/**
 * Answers and vectors in Redis, on a connection of the router's own (ioredis, an optional peer dependency loaded on
 * first use): shared by every router pointed at the same Redis and prefix. Answers are keys with a TTL, capped by a
 * sorted-set index; vectors are one hash per scope, capped the same way. Commands fail fast while Redis is away (no
 * offline queue, one retry, a command timeout) and ioredis reconnects in the background.
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
    const text = await client.get(`${this.prefix}entry:${key}`);
    return text === null ? undefined : (JSON.parse(text) as RouterResponse);
  }

  async set(key: string, response: RouterResponse): Promise<void> {
    const client = await this.client();
    await client.routerCacheSet(
      `${this.prefix}entry:${key}`,
      `${this.prefix}index`,
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
      const value = JSON.parse(text) as VectorValue;
      if (value.m !== model || value.e <= now) continue;
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
      record.key,
      JSON.stringify(value),
      Math.max(1, Math.round(this.options.ttlMs)),
      this.options.maxVectors,
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

  private async connect(): Promise<ScriptedRedis> {
    const loaded = (await loadStorePackage(
      'redis',
      this.options.load ?? (() => import('ioredis')),
    )) as IoRedisModule & {
      default?: IoRedisModule['Redis'];
    };
    const RedisClass = loaded.Redis ?? loaded.default;
    if (this.closed) throw new CacheError({ code: 'STORE_UNAVAILABLE', message: 'the response cache is closed' });
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
    client.defineCommand('routerCacheSet', { numberOfKeys: 2, lua: setScript });
    client.defineCommand('routerCacheAddVector', { numberOfKeys: 2, lua: addVectorScript });
    return client;
  }
}
