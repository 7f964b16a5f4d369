import type { RouterResponse, SharedResponseCache } from '@unity/llm-router';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis-connection';
import type { RedisFailurePolicy } from './redis-failure-policy';

/**
 * Store an entry with its TTL (PX) and index it in a sorted set by expiry time; drop index entries that have expired,
 * then, while the index holds more than the cap, evict the entries closest to expiry (with one TTL for all, the
 * oldest) with their keys. Redis's clock (TIME) is the only clock, so replicas with skewed clocks agree.
 * KEYS[1] entry, KEYS[2] index; ARGV[1] value, ARGV[2] TTL (ms), ARGV[3] cap. Returns how many were evicted.
 */
const setScript = new LuaScript(`
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
  return over
end
return 0
`);

interface RedisResponseCacheOptions {
  connection: RedisConnection;
  policy: RedisFailurePolicy;
  /** At most this many entries (`router.cache.max_entries`), whatever Redis's `maxmemory`: the oldest go first. */
  maxEntries: number;
}

/**
 * The router's response cache in Redis, shared by every replica: what one stored, the others serve. Each entry is a
 * key with a TTL (PX); a sorted-set index by expiry bounds their number. A Redis failure is a miss (or a skipped
 * store), counted, never a failed request.
 */
export class RedisResponseCache implements SharedResponseCache {
  private readonly index: string;
  private readonly prefix: string;

  constructor(private readonly options: RedisResponseCacheOptions) {
    // One hash tag for the index and its entries, so that the script's keys share a slot on a cluster too.
    this.prefix = `${options.connection.keyPrefix}{cache}:entry:`;
    this.index = `${options.connection.keyPrefix}{cache}:index`;
  }

  get(key: string): Promise<RouterResponse | undefined> {
    return this.options.policy.degrade(
      'cache.get',
      async () => {
        const text = await this.options.connection.client.get(this.prefix + key);
        return text === null ? undefined : (JSON.parse(text) as RouterResponse);
      },
      undefined,
    );
  }

  set(key: string, response: RouterResponse, ttlMs: number): Promise<void> {
    return this.options.policy.degrade(
      'cache.set',
      async () => {
        await setScript.run(
          this.options.connection.client,
          [this.prefix + key, this.index],
          [JSON.stringify(response), Math.max(1, Math.round(ttlMs)), this.options.maxEntries],
        );
      },
      undefined,
    );
  }
}
