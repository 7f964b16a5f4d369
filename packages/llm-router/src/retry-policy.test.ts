import { describe, expect, it } from 'vitest';
import { ProviderError, type ProviderErrorOptions } from './errors';
import { Backoff, breakerVerdict, type DecisionContext, decideAfterFailure } from './retry-policy';

const settings = { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 1_000, retryAfterCapMs: 5_000 };

function ctx(overrides: Partial<DecisionContext> = {}): DecisionContext {
  return {
    retriesMade: 0,
    alternativeAvailable: false,
    fallbackOnClientErrors: false,
    settings,
    backoff: new Backoff(settings),
    ...overrides,
  };
}

function failure(code: ProviderErrorOptions['code'], extra: Partial<ProviderErrorOptions> = {}): ProviderError {
  return new ProviderError({ code, message: code, provider: 'p', model: 'm', ...extra });
}

const refused = () =>
  failure('CONNECTION_FAILED', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

describe('decideAfterFailure', () => {
  it('stops on a bad request or a refused key: the caller’s own error', () => {
    expect(decideAfterFailure(failure('BAD_REQUEST', { status: 400 }), ctx()).action).toBe('stop');
    expect(
      decideAfterFailure(failure('AUTH_FAILED', { status: 401 }), ctx({ alternativeAvailable: true })).action,
    ).toBe('stop');
  });

  it('falls back on client errors when configured to', () => {
    expect(decideAfterFailure(failure('AUTH_FAILED'), ctx({ fallbackOnClientErrors: true })).action).toBe('fallback');
  });

  it('falls back without a retry on a missing model', () => {
    expect(decideAfterFailure(failure('MODEL_NOT_FOUND', { status: 404 }), ctx()).action).toBe('fallback');
  });

  it('retries a transient failure with a jittered backoff within the configured bounds', () => {
    const decision = decideAfterFailure(failure('SERVER_ERROR', { status: 502 }), ctx());
    expect(decision.action).toBe('retry');
    const delay = decision.action === 'retry' ? decision.delayMs : -1;
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(settings.maxDelayMs);
  });

  it('falls back once the retries are used up', () => {
    expect(decideAfterFailure(failure('SERVER_ERROR'), ctx({ retriesMade: 2 })).action).toBe('fallback');
  });

  it('waits exactly the Retry-After when no other provider can serve', () => {
    expect(decideAfterFailure(failure('RATE_LIMITED', { status: 429, retryAfterMs: 1_000 }), ctx())).toEqual({
      action: 'retry',
      delayMs: 1_000,
      why: 'honouring Retry-After',
    });
  });

  it('does not wait a Retry-After beyond the cap, and cools the provider for it', () => {
    expect(decideAfterFailure(failure('RATE_LIMITED', { status: 429, retryAfterMs: 60_000 }), ctx())).toMatchObject({
      action: 'fallback',
      coolDownMs: 60_000,
    });
  });

  it('moves on at once from a 429 or 503 with Retry-After when another provider can serve, cooling it', () => {
    const alt = ctx({ alternativeAvailable: true });
    expect(decideAfterFailure(failure('RATE_LIMITED', { status: 429, retryAfterMs: 2_000 }), alt)).toMatchObject({
      action: 'fallback',
      coolDownMs: 2_000,
    });
    expect(decideAfterFailure(failure('SERVER_ERROR', { status: 503, retryAfterMs: 3_000 }), alt)).toMatchObject({
      action: 'fallback',
      coolDownMs: 3_000,
    });
  });

  it('moves on at once from a refused connection when another provider can serve, retries it otherwise', () => {
    expect(decideAfterFailure(refused(), ctx({ alternativeAvailable: true })).action).toBe('fallback');
    expect(decideAfterFailure(refused(), ctx()).action).toBe('retry');
  });

  it('retries a reset connection even when another provider could serve', () => {
    const reset = failure('CONNECTION_FAILED', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    expect(decideAfterFailure(reset, ctx({ alternativeAvailable: true })).action).toBe('retry');
  });

  it('falls back on an error that is not a ProviderError', () => {
    expect(decideAfterFailure(new TypeError('bug'), ctx()).action).toBe('fallback');
  });
});

describe('breakerVerdict', () => {
  it('counts transient failures, credits coherent answers, ignores aborts', () => {
    expect(breakerVerdict(failure('TIMEOUT'))).toBe('failure');
    expect(breakerVerdict(failure('MODEL_NOT_FOUND'))).toBe('success');
    expect(breakerVerdict(failure('ABORTED'))).toBe('none');
    expect(breakerVerdict(new Error('x'))).toBe('none');
  });
});

describe('Backoff', () => {
  it('grows its delays and never exceeds the maximum', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 800 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
    expect(delays.every((d) => d >= 0)).toBe(true);
  });
});
