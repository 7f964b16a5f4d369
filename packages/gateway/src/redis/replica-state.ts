import { randomUUID } from 'node:crypto';
import { describeError } from '@unity/core';
import type { SharedRouterState } from '@unity/llm-router';
import type { EventBus } from '../event-bus';
import type { GatewayMetrics } from '../metrics';
import { RedisBreakerChannel } from './redis-breaker-channel';
import { RedisConnection, type RedisStateChange } from './redis-connection';
import { type RedisFailureMode, RedisFailurePolicy, type RedisFailureReport } from './redis-failure-policy';
import { RedisKeyStore } from './redis-key-store';
import { RedisResponseCache } from './redis-response-cache';
import { RedisUsageStore } from './redis-usage-store';

interface ReplicaStateOptions {
  /** `server.redis_url`. */
  url: string;
  /** `server.redis_failure`. */
  failure: RedisFailureMode;
  /** `server.redis_timeout_ms`. */
  timeoutMs: number;
  /** `server.redis_key_prefix`. */
  keyPrefix: string;
  /** `router.cache.max_entries`: the cap of the shared response cache. */
  cacheMaxEntries: number;
  /** Where `redis.up`, `redis.down` and `redis.settlement-dropped` events go. */
  bus: EventBus;
}

/** `host:port` of a Redis URL, without credentials, for messages. */
function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  } catch {
    return 'the configured Redis';
  }
}

/**
 * Everything a gateway replica shares with the others through one Redis: the router's response cache and breaker
 * channel, the key and usage stores, and the connection's health (the `unity_redis_*` metrics and `redis.*` events).
 */
export class ReplicaState {
  readonly connection: RedisConnection;
  readonly policy: RedisFailurePolicy;
  /** Pass to `createRouter({ shared })`. */
  readonly shared: Required<SharedRouterState>;
  readonly keyStore: RedisKeyStore;
  readonly usageStore: RedisUsageStore;
  /** This process's id on the breaker channel. */
  readonly replicaId = randomUUID();
  private metrics: GatewayMetrics | undefined;
  private lastReportedDown = 0;

  constructor(private readonly options: ReplicaStateOptions) {
    const where = redisAddress(options.url);
    this.connection = new RedisConnection({
      url: options.url,
      timeoutMs: options.timeoutMs,
      keyPrefix: options.keyPrefix,
    });
    this.policy = new RedisFailurePolicy({
      mode: options.failure,
      where,
      report: (failure) => this.reported(failure),
    });
    const deps = { connection: this.connection, policy: this.policy };
    this.shared = {
      cache: new RedisResponseCache({ ...deps, maxEntries: options.cacheMaxEntries }),
      breakers: new RedisBreakerChannel({ ...deps, replicaId: this.replicaId }),
    };
    this.keyStore = new RedisKeyStore(deps);
    this.usageStore = new RedisUsageStore({
      ...deps,
      onSettlementDropped: (settlement) => {
        this.metrics?.redisSettlementDropped();
        options.bus.publish('redis.settlement-dropped', {
          key: settlement.reservation.keyId,
          model: settlement.model,
          costMicros: settlement.costMicros,
        });
      },
    });
    this.connection.on('change', (change) => this.changed(change, where));
  }

  /** Export the metrics on this gateway's registry from now on. */
  attach(metrics: GatewayMetrics): void {
    this.metrics = metrics;
    metrics.trackRedis();
    metrics.redisState(this.connection.up);
  }

  /** Wait (bounded) for the first connection, so that the first requests do not fail for a Redis that is there. */
  async ready(timeoutMs?: number): Promise<boolean> {
    const up = await this.connection.ready(timeoutMs);
    if (up) await this.keyStore.refreshSize();
    return up;
  }

  async close(): Promise<void> {
    await this.keyStore.close();
    await this.usageStore.close();
    await this.connection.close();
  }

  private changed(change: RedisStateChange, where: string): void {
    this.metrics?.redisState(change.up);
    if (change.up) {
      this.options.bus.publish('redis.up', { redis: where });
    } else {
      this.options.bus.publish('redis.down', {
        redis: where,
        reason: change.reason ?? 'connection closed',
        policy: this.policy.mode,
        message:
          this.policy.mode === 'open'
            ? 'admitting requests without their limit and budget checks until Redis is back (server.redis_failure: open)'
            : 'refusing requests that need Redis with 503 until it is back (server.redis_failure: closed)',
      });
    }
  }

  private reported(failure: RedisFailureReport): void {
    this.metrics?.redisFailure(failure.op, failure.failedOpen);
    // A failure while the connection looks up (a timeout, a script error) is worth an event; at most one a second.
    const now = Date.now();
    if (this.connection.up && now - this.lastReportedDown >= 1_000) {
      this.lastReportedDown = now;
      this.options.bus.publish('redis.error', {
        op: failure.op,
        failedOpen: failure.failedOpen,
        error: describeError(failure.error),
      });
    }
  }
}
