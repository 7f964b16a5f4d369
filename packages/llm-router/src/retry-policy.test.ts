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

const withCode = (code: string) =>
  failure('CONNECTION_FAILED', { cause: Object.assign(new Error(`connect ${code}`), { code }) });

describe('decideAfterFailure: falling back at once', () => {
  it('falls back at once from a timeout when another provider can serve, and retries it otherwise', () => {
    expect(decideAfterFailure(failure('TIMEOUT'), ctx({ alternativeAvailable: true }))).toEqual({
      action: 'fallback',
      why: 'timed out; another provider can serve',
    });
    expect(decideAfterFailure(failure('TIMEOUT'), ctx()).action).toBe('retry');
  });

  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ETIMEDOUT',
    'UND_ERR_CONNECT_TIMEOUT',
  ])('treats %s as an unreachable host: fallback at once when another provider can serve', (code) => {
    expect(decideAfterFailure(withCode(code), ctx({ alternativeAvailable: true }))).toEqual({
      action: 'fallback',
      why: 'unreachable; another provider can serve',
    });
  });

  it('retries a connection failure without a known code even when another provider could serve', () => {
    expect(decideAfterFailure(failure('CONNECTION_FAILED'), ctx({ alternativeAvailable: true })).action).toBe('retry');
  });

  it('retries other transient failures when another provider can serve and retries remain', () => {
    for (const code of ['SERVER_ERROR', 'BAD_RESPONSE', 'STREAM_CUT', 'UPSTREAM_ERROR'] as const) {
      expect(decideAfterFailure(failure(code), ctx({ alternativeAvailable: true })).action, code).toBe('retry');
    }
  });

  it('does not treat an unreachable-looking cause of another error code as unreachable', () => {
    const timeoutWithRefusedCause = failure('SERVER_ERROR', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(decideAfterFailure(timeoutWithRefusedCause, ctx({ alternativeAvailable: true })).action).toBe('retry');
  });

  it('waits for a Retry-After on a 502 (not rate limiting) when another provider can serve', () => {
    expect(
      decideAfterFailure(
        failure('SERVER_ERROR', { status: 502, retryAfterMs: 700 }),
        ctx({ alternativeAvailable: true }),
      ),
    ).toEqual({ action: 'retry', delayMs: 700, why: 'honouring Retry-After' });
  });

  it('names the Retry-After in the reason of an at-once fallback', () => {
    expect(
      decideAfterFailure(
        failure('RATE_LIMITED', { status: 429, retryAfterMs: 2_000 }),
        ctx({ alternativeAvailable: true }),
      ),
    ).toEqual({ action: 'fallback', coolDownMs: 2_000, why: 'Retry-After 2000 ms; another provider can serve' });
  });

  it('falls back from a 429 without Retry-After only once the retries are used up', () => {
    const limited = failure('RATE_LIMITED', { status: 429 });
    expect(decideAfterFailure(limited, ctx({ alternativeAvailable: true })).action).toBe('retry');
    expect(decideAfterFailure(limited, ctx({ retriesMade: 2 }))).toStrictEqual({
      action: 'fallback',
      why: 'retries exhausted',
    });
  });
});

describe('decideAfterFailure: retries and Retry-After', () => {
  it('cools the provider down when retries are exhausted on a rate limit with Retry-After, not on other failures', () => {
    expect(
      decideAfterFailure(failure('RATE_LIMITED', { status: 429, retryAfterMs: 1_000 }), ctx({ retriesMade: 2 })),
    ).toEqual({ action: 'fallback', coolDownMs: 1_000, why: 'retries exhausted' });
    expect(
      decideAfterFailure(failure('SERVER_ERROR', { status: 503, retryAfterMs: 1_000 }), ctx({ retriesMade: 5 })),
    ).toEqual({ action: 'fallback', coolDownMs: 1_000, why: 'retries exhausted' });
    expect(
      decideAfterFailure(failure('SERVER_ERROR', { status: 502, retryAfterMs: 1_000 }), ctx({ retriesMade: 2 })),
    ).toStrictEqual({ action: 'fallback', why: 'retries exhausted' });
  });

  it('retries while fewer retries than the maximum were made', () => {
    expect(decideAfterFailure(failure('SERVER_ERROR'), ctx({ retriesMade: 1 })).action).toBe('retry');
    expect(
      decideAfterFailure(failure('SERVER_ERROR'), ctx({ retriesMade: 0, settings: { ...settings, maxRetries: 0 } }))
        .action,
    ).toBe('fallback');
  });

  it('waits a Retry-After equal to the cap, and names the cap when one exceeds it', () => {
    expect(decideAfterFailure(failure('RATE_LIMITED', { status: 429, retryAfterMs: 5_000 }), ctx())).toEqual({
      action: 'retry',
      delayMs: 5_000,
      why: 'honouring Retry-After',
    });
    expect(decideAfterFailure(failure('RATE_LIMITED', { status: 429, retryAfterMs: 5_001 }), ctx())).toEqual({
      action: 'fallback',
      coolDownMs: 5_001,
      why: 'Retry-After 5001 ms exceeds the cap of 5000 ms',
    });
  });

  it('does not cool a provider down for a long Retry-After that is not rate limiting', () => {
    expect(decideAfterFailure(failure('SERVER_ERROR', { status: 502, retryAfterMs: 60_000 }), ctx())).toEqual({
      action: 'fallback',
      why: 'Retry-After 60000 ms exceeds the cap of 5000 ms',
    });
  });

  it('retries with the backoff’s next delay when there is no Retry-After', () => {
    const backoff = new Backoff({ initialDelayMs: 0, maxDelayMs: 1_000 });
    expect(decideAfterFailure(failure('SERVER_ERROR', { status: 502 }), ctx({ backoff }))).toEqual({
      action: 'retry',
      delayMs: 0,
      why: 'exponential backoff',
    });
  });

  it('explains each decision', () => {
    expect(decideAfterFailure(failure('BAD_REQUEST'), ctx())).toEqual({
      action: 'stop',
      why: 'the request itself was refused',
    });
    expect(decideAfterFailure(failure('BAD_REQUEST'), ctx({ fallbackOnClientErrors: true }))).toEqual({
      action: 'fallback',
      why: 'client error, falling back as configured',
    });
    expect(decideAfterFailure(failure('MODEL_NOT_FOUND'), ctx())).toEqual({
      action: 'fallback',
      why: 'MODEL_NOT_FOUND is not worth a retry',
    });
    expect(decideAfterFailure(new Error('x'), ctx())).toEqual({ action: 'fallback', why: 'unexpected error' });
  });

  it('falls back without retrying other non-transient failures, even when they are refusals of a kind', () => {
    for (const code of ['UNSUPPORTED', 'NOT_INSTALLED', 'ABORTED'] as const) {
      expect(decideAfterFailure(failure(code), ctx()).action, code).toBe('fallback');
    }
  });
});

describe('breakerVerdict: every code', () => {
  it('counts every transient code as a failure', () => {
    for (const code of [
      'CONNECTION_FAILED',
      'RATE_LIMITED',
      'SERVER_ERROR',
      'UPSTREAM_ERROR',
      'BAD_RESPONSE',
      'STREAM_CUT',
    ] as const) {
      expect(breakerVerdict(failure(code)), code).toBe('failure');
    }
  });

  it('gives no verdict for a missing optional dependency, and credits refusals', () => {
    expect(breakerVerdict(failure('NOT_INSTALLED'))).toBe('none');
    expect(breakerVerdict(failure('BAD_REQUEST'))).toBe('success');
    expect(breakerVerdict(failure('AUTH_FAILED'))).toBe('success');
    expect(breakerVerdict(failure('UNSUPPORTED'))).toBe('success');
  });
});

describe('Backoff: edges', () => {
  it('never waits when either bound is zero', () => {
    expect(new Backoff({ initialDelayMs: 0, maxDelayMs: 1_000 }).next()).toBe(0);
    expect(new Backoff({ initialDelayMs: 100, maxDelayMs: 0 }).next()).toBe(0);
  });

  it('returns whole milliseconds that keep growing from the initial delay', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 100_000 });
    const delays = Array.from({ length: 6 }, () => backoff.next());
    expect(delays.every((d) => Number.isInteger(d))).toBe(true);
    expect(delays.some((d) => d > 0)).toBe(true);
    // A sequence, not the first step again and again: later delays reach beyond what the first step can.
    expect(Math.max(...delays.slice(3))).toBeGreaterThan(400);
  });
});
