import { EventBus } from '../event-bus';
import type { PriceTable } from '../keys/prices';
import type { KeyRecord, KeyStore } from '../keys/store';
import { VirtualKeys } from '../keys/virtual-keys';
import { ReplicaState } from './replica-state';

export interface OpenRedisVirtualKeysOptions {
  /** `server.redis_url`. */
  url: string;
  /** `server.redis_key_prefix` (default `unity:`): the same as the gateway's, or the keys are not the same. */
  keyPrefix?: string;
  /** `server.redis_timeout_ms` (default 500). */
  timeoutMs?: number;
  /** `server.prices`. */
  prices?: PriceTable;
  clock?: () => number;
}

/** The Redis key store, whose `close` closes the connection it was opened with. */
class OwnedKeyStore implements KeyStore {
  constructor(
    private readonly state: ReplicaState,
    private readonly inner: KeyStore = state.keyStore,
  ) {}
  create = (record: KeyRecord) => this.inner.create(record);
  findByHash = (hash: string) => this.inner.findByHash(hash);
  get = (id: string) => this.inner.get(id);
  list = () => this.inner.list();
  revoke = (id: string, at: number) => this.inner.revoke(id, at);
  rotate = (id: string, secret: { hash: string; prefix: string }, at: number) => this.inner.rotate(id, secret, at);
  get size(): number {
    return this.state.keyStore.size;
  }
  close = () => this.state.close();
}

/**
 * The virtual keys the replicas of a gateway share in Redis, for tools outside the gateway (`unity keys` with
 * `server.redis_url`): the same keys, limits and spend as every replica's admin API. Fails closed: while Redis cannot be
 * reached, every call fails with `STORE_UNAVAILABLE`. Close it when done (it closes its connection).
 */
export async function openRedisVirtualKeys(options: OpenRedisVirtualKeysOptions): Promise<VirtualKeys> {
  const state = new ReplicaState({
    url: options.url,
    failure: 'closed',
    timeoutMs: options.timeoutMs ?? 500,
    keyPrefix: options.keyPrefix ?? 'unity:',
    cacheMaxEntries: 1,
    bus: new EventBus({ backlog: 0, clientBacklog: 0 }),
  });
  if (!(await state.ready())) {
    await state.close();
    throw state.policy.unavailable('connect');
  }
  return new VirtualKeys({
    keys: new OwnedKeyStore(state),
    usage: state.usageStore,
    ...(options.prices ? { prices: options.prices } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
