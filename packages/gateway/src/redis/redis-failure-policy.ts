import { describeError } from '@unity/core';
import { GatewayError } from '../errors';

/**
 * What a replica does with a request whose admission needs Redis (its key, rate limit or budget) while Redis cannot
 * be reached (`server.redis_failure`):
 * - `open`: admit it unchecked, count it (`unity_redis_fail_open_total`) and keep serving;
 * - `closed`: refuse it with 503 `STORE_UNAVAILABLE` and `Retry-After`.
 * What only helps (the shared response cache, breaker announcements) degrades in both modes: a cache miss, local
 * breakers.
 */
export type RedisFailureMode = 'open' | 'closed';

export interface RedisFailureReport {
  /** The operation that failed (`cache.get`, `breaker.announce`, `limits.consume`, …). */
  op: string;
  error: unknown;
  /** The request was admitted without its check (fail-open). */
  failedOpen: boolean;
}

interface RedisFailurePolicyOptions {
  mode: RedisFailureMode;
  /** Where Redis is, for messages (without credentials). */
  where: string;
  /** Told of every failure (the gateway counts them in its metrics). */
  report?: (failure: RedisFailureReport) => void;
}

/** Runs Redis operations under the configured failure policy. */
export class RedisFailurePolicy {
  readonly mode: RedisFailureMode;

  constructor(private readonly options: RedisFailurePolicyOptions) {
    this.mode = options.mode;
  }

  /**
   * An operation that decides whether a request is admitted. On a Redis failure: fail-open resolves `whenOpen()`;
   * fail-closed throws a GatewayError (503, `STORE_UNAVAILABLE`, Retry-After: 1).
   */
  async decide<T>(op: string, run: () => Promise<T>, whenOpen: () => T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (GatewayError.isInstance(error)) throw error;
      const failedOpen = this.mode === 'open';
      this.options.report?.({ op, error, failedOpen });
      if (failedOpen) return whenOpen();
      throw this.unavailable(op, error);
    }
  }

  /** An operation that only helps: on a Redis failure, report it and resolve `fallback`. */
  async degrade<T>(op: string, run: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.options.report?.({ op, error, failedOpen: false });
      return fallback;
    }
  }

  /** The 503 a fail-closed replica answers with. */
  unavailable(op: string, cause?: unknown): GatewayError {
    return new GatewayError({
      code: 'STORE_UNAVAILABLE',
      status: 503,
      retryAfterSeconds: 1,
      message: `the gateway cannot check this request: its shared state (Redis at ${this.options.where}) did not answer ${op}${cause ? ` (${describeError(cause)})` : ''}, and server.redis_failure is closed`,
      fix: 'bring Redis back (the gateway reconnects by itself), or set server.redis_failure: open to admit requests unchecked while it is away',
      ...(cause ? { cause } : {}),
    });
  }
}
