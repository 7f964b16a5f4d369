import type { RouterResponse, SharedResponseCache } from '@unity/llm-router';
import { readCachedResponse, responseCacheSetScript } from '@unity/llm-router/internal';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis-connection';
import type { RedisFailurePolicy } from './redis-failure-policy';

/** The router's script (one copy for both): store with PX, index by expiry, evict the oldest past the cap. */
const setScript = new LuaScript(responseCacheSetScript);

interface RedisResponseCacheOptions {
  connection: RedisConnection;
  policy: RedisFailurePolicy;
  /** At most this many entries (`router.cache.max_entries`), whatever Redis's `maxmemory`: the oldest go first. */
  maxEntries: number;
}

/**
 * The router's response cache in Redis, shared by every replica: what one stored, the others serve. Each entry is a
 * key with a TTL (PX); a sorted-set index by expiry bounds their number. A Redis failure is a miss (or a skipped
 * store), counted, never a failed request; so is an entry that is not an answer (corrupt, or another program's),
 * which is deleted so that it is counted once.
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
        const { client } = this.options.connection;
        const entry = this.prefix + key;
        const text = await client.get(entry);
        if (text === null) return undefined;
        try {
          return readCachedResponse(text, `${entry} in Redis`);
        } catch (error) {
          await client.del(entry).catch(() => undefined);
          throw error;
        }
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
