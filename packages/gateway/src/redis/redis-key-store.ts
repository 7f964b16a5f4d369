import type { BudgetPeriod, KeyRecord, KeyStore } from '../keys/store';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis-connection';
import type { RedisFailurePolicy } from './redis-failure-policy';

/**
 * Keys in Redis: one hash per record (`<prefix>key:<id>`), a string from the secret's sha256 to the id
 * (`<prefix>key-hash:<hash>`), and a sorted set of ids by creation time (`<prefix>keys`). Every replica reads the
 * record from Redis on each request, so a key created, revoked or rotated through one replica's admin API applies on
 * all of them at the next request; no replica holds a copy that could be stale. (Standalone Redis or Sentinel: the
 * scripts touch keys derived from their arguments, which a Cluster would refuse.)
 */

/** KEYS[1] record, KEYS[2] hash→id, KEYS[3] index; ARGV[1] id, ARGV[2] createdAt, ARGV[3..] field, value pairs. */
const createScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'hash' end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 'ok'
`);

/** KEYS[1] hash→id; ARGV[1] the records' key prefix. The record whose secret hashes so, or nil. */
const findScript = new LuaScript(`
local id = redis.call('GET', KEYS[1])
if not id then return nil end
return redis.call('HGETALL', ARGV[1] .. id)
`);

/** KEYS[1] record; ARGV[1] at. An earlier revocation stands. */
const revokeScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSETNX', KEYS[1], 'revokedAt', ARGV[1])
return redis.call('HGETALL', KEYS[1])
`);

/** KEYS[1] record, KEYS[2] new hash→id; ARGV[1] id, ARGV[2] new hash, ARGV[3] new prefix, ARGV[4] at, ARGV[5] hash key prefix. */
const rotateScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if redis.call('HEXISTS', KEYS[1], 'revokedAt') == 1 then return nil end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('the new secret hash exists') end
local old = redis.call('HGET', KEYS[1], 'hash')
redis.call('DEL', ARGV[5] .. old)
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'hash', ARGV[2], 'prefix', ARGV[3], 'rotatedAt', ARGV[4])
return redis.call('HGETALL', KEYS[1])
`);

const numberFields = ['createdAt', 'expiresAt', 'revokedAt', 'rotatedAt', 'rpm', 'tpm', 'budgetMicros'] as const;

/** A record as hash fields (absent fields left out; `models` as JSON). */
function recordFields(record: KeyRecord): string[] {
  const fields: string[] = [
    'id',
    record.id,
    'name',
    record.name,
    'hash',
    record.hash,
    'prefix',
    record.prefix,
    'budgetPeriod',
    record.budgetPeriod,
  ];
  for (const name of numberFields) {
    const value = record[name];
    if (value !== undefined) fields.push(name, String(value));
  }
  if (record.models !== undefined) fields.push('models', JSON.stringify(record.models));
  return fields;
}

/** HGETALL's flat [field, value, …] (or its object) as a record; undefined for an empty reply. */
function recordOf(reply: unknown): KeyRecord | undefined {
  let map: Record<string, string>;
  if (Array.isArray(reply)) {
    if (reply.length === 0) return undefined;
    map = {};
    for (let i = 0; i + 1 < reply.length; i += 2) map[String(reply[i])] = String(reply[i + 1]);
  } else if (reply && typeof reply === 'object') {
    map = reply as Record<string, string>;
    if (Object.keys(map).length === 0) return undefined;
  } else {
    return undefined;
  }
  const record: Record<string, unknown> = {
    id: map.id,
    name: map.name,
    hash: map.hash,
    prefix: map.prefix,
    budgetPeriod: (map.budgetPeriod ?? 'total') as BudgetPeriod,
  };
  for (const name of numberFields) if (map[name] !== undefined) record[name] = Number(map[name]);
  if (map.models !== undefined) record.models = JSON.parse(map.models) as string[];
  return record as unknown as KeyRecord;
}

interface RedisKeyStoreOptions {
  connection: RedisConnection;
  policy: RedisFailurePolicy;
}

/** How many keys a replica remembers for failing open (the most recently used). */
const lastKnownCap = 10_000;

/**
 * {@link KeyStore} on Redis. Lookups answer from Redis every time. While Redis is away:
 * - fail-open (`server.redis_failure: open`): a key this replica has looked up before is answered from its last
 *   known record (revocations and rotations made through any replica before the outage included: each change is
 *   published, and every replica drops or replaces its copy); a key it has never seen is refused with 503 — failing
 *   open never admits a key nobody can check;
 * - fail-closed: every lookup is refused with 503 (`STORE_UNAVAILABLE`).
 * Creating, revoking and rotating need Redis: 503 while it is away, in both modes.
 */
export class RedisKeyStore implements KeyStore {
  private readonly prefix: string;
  private readonly channel: string;
  private readonly lastKnown = new Map<string, KeyRecord>();
  private readonly stopListening: () => void;
  private count: number | undefined;

  constructor(private readonly options: RedisKeyStoreOptions) {
    this.prefix = options.connection.keyPrefix;
    this.channel = `${this.prefix}keys:changed`;
    const { connection } = options;
    // Changes published while this replica was cut off are lost: forget everything when Redis comes back.
    const onChange = (change: { up: boolean }) => {
      if (!change.up) return;
      this.lastKnown.clear();
      void this.refreshSize();
    };
    const onMessage = (id: string) => {
      this.forget(id);
      void this.refreshSize();
    };
    const unsubscribe = connection.subscribe(this.channel, onMessage, () => void this.refreshSize());
    connection.on('change', onChange);
    const sweep = setInterval(() => void this.refreshSize(), 5_000);
    sweep.unref();
    this.stopListening = () => {
      clearInterval(sweep);
      unsubscribe();
      connection.off('change', onChange);
    };
  }

  /**
   * How many keys exist (revoked ones included), as this replica last counted them: at start, whenever a replica
   * creates, revokes or rotates one (published), and every 5 s. Until the first count, 1: a replica that cannot
   * count yet asks for a key rather than serving anyone.
   */
  get size(): number {
    return this.count ?? 1;
  }

  /** Count the keys again (the gateway waits for it at start). */
  async refreshSize(): Promise<void> {
    try {
      this.count = await this.client.zcard(this.indexKey);
    } catch {
      // Redis is away: keep the last count.
    }
  }

  private forget(id: string): void {
    for (const [hash, record] of this.lastKnown) if (record.id === id) this.lastKnown.delete(hash);
  }

  private remember(record: KeyRecord | undefined, hash: string): void {
    if (this.options.policy.mode !== 'open') return;
    this.lastKnown.delete(hash);
    if (!record) return;
    this.lastKnown.set(hash, record);
    if (this.lastKnown.size > lastKnownCap) {
      const oldest = this.lastKnown.keys().next().value;
      if (oldest !== undefined) this.lastKnown.delete(oldest);
    }
  }

  /** Tell every replica that a key changed (their fail-open copies drop it, and they count the keys again). */
  private published(id: string): void {
    this.client.publish(this.channel, id).catch(() => {});
  }

  private recordKey = (id: string) => `${this.prefix}key:${id}`;
  private hashKey = (hash: string) => `${this.prefix}key-hash:${hash}`;
  private get indexKey() {
    return `${this.prefix}keys`;
  }
  private get client() {
    return this.options.connection.client;
  }

  /** Run a read or write that cannot be answered without Redis: 503 when it fails, whatever the mode. */
  private async must<T>(op: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.options.policy.unavailable(op, error);
    }
  }

  async create(record: KeyRecord): Promise<void> {
    const result = await this.must('keys.create', () =>
      createScript.run(
        this.client,
        [this.recordKey(record.id), this.hashKey(record.hash), this.indexKey],
        [record.id, record.createdAt, ...recordFields(record)],
      ),
    );
    if (result === 'id') throw new Error(`a key with id ${record.id} exists`);
    if (result === 'hash') throw new Error('a key with this secret exists');
    this.published(record.id);
    await this.refreshSize();
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    const { policy } = this.options;
    const lookup = async () => {
      const record = recordOf(await findScript.run(this.client, [this.hashKey(hash)], [this.recordKey('')]));
      this.remember(record, hash);
      return { record };
    };
    const found = await policy.decide('keys.find', lookup, () => ({ record: this.lastKnown.get(hash), stale: true }));
    if ('stale' in found && !found.record) throw policy.unavailable('keys.find');
    return found.record;
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    return recordOf(await this.must('keys.get', () => this.client.hgetall(this.recordKey(id))));
  }

  async list(): Promise<KeyRecord[]> {
    return this.must('keys.list', async () => {
      const ids = await this.client.zrange(this.indexKey, 0, -1);
      if (ids.length === 0) return [];
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hgetall(this.recordKey(id));
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([, reply]) => recordOf(reply)).filter((r): r is KeyRecord => r !== undefined);
    });
  }

  async revoke(id: string, at: number): Promise<KeyRecord | undefined> {
    const record = recordOf(
      await this.must('keys.revoke', () => revokeScript.run(this.client, [this.recordKey(id)], [at])),
    );
    if (record) this.published(id);
    return record;
  }

  async rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<KeyRecord | undefined> {
    const reply = await this.must('keys.rotate', () =>
      rotateScript.run(
        this.client,
        [this.recordKey(id), this.hashKey(secret.hash)],
        [id, secret.hash, secret.prefix, at, this.hashKey('')],
      ),
    );
    const record = recordOf(reply);
    if (record) this.published(id);
    return record;
  }

  async close(): Promise<void> {
    // The connection is the gateway's: closed with it.
    this.stopListening();
  }
}
