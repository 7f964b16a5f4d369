import { decorrelatedJitterGenerator, ExponentialBackoff, type IBackoff } from 'cockatiel';
import { ProviderError } from './errors';
import { errorCodeOf } from './providers/http-errors';

export interface RetrySettings {
  /** Retries per provider after its first attempt. */
  maxRetries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for. */
  retryAfterCapMs: number;
}

/** What the router does after a failed attempt. */
type RetryDecision =
  /** Try the same provider again after `delayMs`. */
  | { action: 'retry'; delayMs: number; why: string }
  /** Go on to the next provider; `coolDownMs` keeps this one out of rotation for that long (a Retry-After). */
  | { action: 'fallback'; coolDownMs?: number; why: string }
  /** Give up: the request itself was refused, and another provider would refuse it too. */
  | { action: 'stop'; why: string };

/** How a failed attempt counts toward the provider's circuit breaker. */
type BreakerVerdict = 'failure' | 'success' | 'none';

export interface DecisionContext {
  /** Retries already made on this provider for this request. */
  retriesMade: number;
  /** True when a later provider in the chain would admit the request now. */
  alternativeAvailable: boolean;
  /** Fall back on 400/401/403 too. */
  fallbackOnClientErrors: boolean;
  settings: RetrySettings;
  /** The backoff state of this provider's retries (see `createBackoff`). */
  backoff: Backoff;
}

/** Exponential backoff with decorrelated jitter (cockatiel's), one sequence per provider per request. */
export class Backoff {
  private state: IBackoff<unknown> | undefined;
  constructor(private readonly settings: Pick<RetrySettings, 'initialDelayMs' | 'maxDelayMs'>) {}

  next(): number {
    if (this.settings.maxDelayMs === 0 || this.settings.initialDelayMs === 0) return 0;
    this.state = this.state
      ? this.state.next(undefined)
      : new ExponentialBackoff({
          generator: decorrelatedJitterGenerator,
          initialDelay: this.settings.initialDelayMs,
          maxDelay: this.settings.maxDelayMs,
        }).next();
    return Math.round(this.state.duration);
  }
}

/** 400/401/403: the caller's own request or key, which every other provider would refuse as well. */
function isClientError(error: unknown): boolean {
  return ProviderError.isInstance(error) && (error.code === 'BAD_REQUEST' || error.code === 'AUTH_FAILED');
}

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Nothing is listening there, or the name does not resolve: retrying at once rarely helps. */
function isUnreachable(error: ProviderError): boolean {
  const code = errorCodeOf(error.cause);
  return error.code === 'CONNECTION_FAILED' && code !== undefined && unreachableCodes.has(code);
}

/**
 * Decide what follows a failed attempt.
 * - The caller's own errors (400, 401/403) stop the request unless `fallbackOnClientErrors`.
 * - Other non-transient failures (model not found, unsupported, not installed) fall back without retrying.
 * - When another provider can serve: a 429/503 with Retry-After falls back at once and cools the provider down for
 *   that long; an unreachable host (refused, DNS) or a timeout falls back at once too — waiting would only add latency.
 * - Otherwise transient failures are retried up to `maxRetries`, after the Retry-After when there is one (a longer
 *   one than `retryAfterCapMs` is not waited for) or an exponential backoff with jitter.
 */
export function decideAfterFailure(error: unknown, ctx: DecisionContext): RetryDecision {
  if (!ProviderError.isInstance(error)) return { action: 'fallback', why: 'unexpected error' };
  if (isClientError(error)) {
    return ctx.fallbackOnClientErrors
      ? { action: 'fallback', why: 'client error, falling back as configured' }
      : { action: 'stop', why: 'the request itself was refused' };
  }
  if (!error.transient) return { action: 'fallback', why: `${error.code} is not worth a retry` };
  const retryAfter = error.retryAfterMs;
  const limited = error.code === 'RATE_LIMITED' || error.status === 503;
  if (ctx.alternativeAvailable) {
    if (retryAfter !== undefined && limited) {
      return {
        action: 'fallback',
        coolDownMs: retryAfter,
        why: `Retry-After ${retryAfter} ms; another provider can serve`,
      };
    }
    if (isUnreachable(error)) return { action: 'fallback', why: 'unreachable; another provider can serve' };
    if (error.code === 'TIMEOUT') return { action: 'fallback', why: 'timed out; another provider can serve' };
  }
  if (ctx.retriesMade >= ctx.settings.maxRetries) {
    return {
      action: 'fallback',
      ...(retryAfter !== undefined && limited ? { coolDownMs: retryAfter } : {}),
      why: 'retries exhausted',
    };
  }
  if (retryAfter !== undefined) {
    if (retryAfter > ctx.settings.retryAfterCapMs) {
      return {
        action: 'fallback',
        ...(limited ? { coolDownMs: retryAfter } : {}),
        why: `Retry-After ${retryAfter} ms exceeds the cap of ${ctx.settings.retryAfterCapMs} ms`,
      };
    }
    return { action: 'retry', delayMs: retryAfter, why: 'honouring Retry-After' };
  }
  return { action: 'retry', delayMs: ctx.backoff.next(), why: 'exponential backoff' };
}

/** How a failure counts for the breaker: the upstream was unwell, answered coherently, or was never reached. */
export function breakerVerdict(error: unknown): BreakerVerdict {
  if (!ProviderError.isInstance(error)) return 'none';
  if (error.transient) return 'failure';
  if (error.code === 'ABORTED' || error.code === 'NOT_INSTALLED') return 'none';
  return 'success';
}
