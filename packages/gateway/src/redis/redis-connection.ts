import { EventEmitter } from 'node:events';
import { describeError } from '@unity/core';
import { Redis, type RedisOptions } from 'ioredis';

interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (`server.redis_url`). */
  url: string;
  /**
   * How long one command may take before it fails (`server.redis_timeout_ms`); also the connect timeout. Commands
   * never queue while Redis is away: they fail at once, and the failure policy decides what the request gets.
   */
  timeoutMs: number;
  /** Prefix of every key and channel (`server.redis_key_prefix`), so that several gateways can share one Redis. */
  keyPrefix: string;
}

export interface RedisStateChange {
  up: boolean;
  /** Why it went down (the connection's last error), when it did. */
  reason?: string;
}

/** Reconnect delays: 50 ms, 100 ms, … capped at 2 s, for ever (ioredis calls it after each failed attempt). */
const reconnectDelay = (attempt: number) => Math.min(attempt * 50, 2_000);

/**
 * One gateway's connection to Redis (ioredis), shared by everything that keeps state there, and a second one for
 * pub/sub (a subscribed connection can issue nothing else). Commands fail fast while Redis is away (no offline queue,
 * one retry, a command timeout); ioredis reconnects for ever in the background. Emits `change` ({@link RedisStateChange})
 * when the command connection becomes ready or is lost.
 */
export class RedisConnection extends EventEmitter<{ change: [RedisStateChange] }> {
  readonly client: Redis;
  readonly keyPrefix: string;
  private subscriberClient: Redis | undefined;
  private lastError: string | undefined;
  private closed = false;
  private isUp = false;

  constructor(private readonly options: RedisConnectionOptions) {
    super();
    this.keyPrefix = options.keyPrefix;
    this.client = new Redis(options.url, this.clientOptions({ enableOfflineQueue: false, maxRetriesPerRequest: 1 }));
    this.client.on('ready', () => this.setUp(true));
    this.client.on('error', (error) => {
      this.lastError = describeError(error);
    });
    this.client.on('close', () => this.setUp(false));
  }

  /** True while commands can be sent. */
  get up(): boolean {
    return this.isUp;
  }

  /**
   * Deliver the messages of `channel` to `onMessage` (on the pub/sub connection, created on first use), and `onActive`
   * each time the subscription becomes active — at first and after every reconnect — so that the caller can read
   * what it may have missed meanwhile. Returns the function that stops it.
   */
  subscribe(channel: string, onMessage: (message: string) => void, onActive?: () => void): () => void {
    const subscriber = this.pubsub();
    const active = () => {
      // Sent again after each reconnect: ioredis re-subscribes only what had succeeded before the connection fell.
      subscriber.subscribe(channel).then(
        () => onActive?.(),
        () => {},
      );
    };
    const listener = (from: string, message: string) => {
      if (from === channel) onMessage(message);
    };
    subscriber.on('message', listener);
    subscriber.on('ready', active);
    if (subscriber.status === 'ready') active();
    return () => {
      subscriber.off('message', listener);
      subscriber.off('ready', active);
      subscriber.unsubscribe(channel).catch(() => {});
    };
  }

  private pubsub(): Redis {
    this.subscriberClient ??= (() => {
      // No command timeout: a subscription is meant to last. Nothing queues while it is away but SUBSCRIBE.
      const client = new Redis(
        this.options.url,
        this.clientOptions({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: undefined }),
      );
      client.on('error', () => {});
      return client;
    })();
    return this.subscriberClient;
  }

  /** Resolve once the command connection is ready, or after `timeoutMs` (false: not ready yet; it keeps trying). */
  ready(timeoutMs = this.options.timeoutMs * 4): Promise<boolean> {
    if (this.isUp) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('change', onChange);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const onChange = (change: RedisStateChange) => {
        if (!change.up) return;
        clearTimeout(timer);
        this.off('change', onChange);
        resolve(true);
      };
      this.on('change', onChange);
    });
  }

  /** Disconnect both connections (pending commands fail). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [this.client, this.subscriberClient].map((client) =>
        client?.quit().catch(() => {
          client.disconnect();
        }),
      ),
    );
  }

  private clientOptions(overrides: Partial<RedisOptions>): RedisOptions {
    return {
      // Refused connections fail at once; this bounds a connect to a host that does not answer at all.
      connectTimeout: Math.max(this.options.timeoutMs, 2_000),
      commandTimeout: this.options.timeoutMs,
      retryStrategy: reconnectDelay,
      // A server that restarted empty has no scripts: EVALSHA falls back to EVAL through defineCommand.
      enableReadyCheck: true,
      lazyConnect: false,
      ...overrides,
    };
  }

  private setUp(up: boolean): void {
    if (up === this.isUp || this.closed) return;
    this.isUp = up;
    this.emit('change', up ? { up } : { up, reason: this.lastError ?? 'connection closed' });
  }
}
