import { describe, expect, it } from 'vitest';
import { codeForStatus, errorCodeOf, type FailureContext, failureContexts, parseRetryAfter } from './http-errors';
import { isLoopbackUrl } from './loopback';

const headers = (values: Record<string, string>) => new Headers(values);

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter(headers({ 'retry-after': '1.5' }))).toBe(1500);
  });

  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('Wed, 25 Nov 2026 12:00:00 GMT');
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 25 Nov 2026 12:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 25 Nov 2026 11:00:00 GMT' }), now)).toBe(0);
  });

  it('prefers retry-after-ms', () => {
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
  });

  it('gives undefined for a missing or unreadable header', () => {
    expect(parseRetryAfter(headers({}))).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('codeForStatus', () => {
  it.each([
    [429, 'RATE_LIMITED'],
    [401, 'AUTH_FAILED'],
    [403, 'AUTH_FAILED'],
    [404, 'MODEL_NOT_FOUND'],
    [400, 'BAD_REQUEST'],
    [422, 'BAD_REQUEST'],
    [408, 'SERVER_ERROR'],
    [409, 'SERVER_ERROR'],
    [500, 'SERVER_ERROR'],
    [503, 'SERVER_ERROR'],
  ])('%i → %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });
});

describe('errorCodeOf', () => {
  it('finds a network code along the cause chain and inside an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(errorCodeOf(new TypeError('fetch failed', { cause: refused }))).toBe('ECONNREFUSED');
    expect(errorCodeOf(new TypeError('fetch failed', { cause: new AggregateError([refused]) }))).toBe('ECONNREFUSED');
    expect(errorCodeOf(new Error('plain'))).toBeUndefined();
  });
});

describe('isLoopbackUrl', () => {
  it.each([
    ['http://127.0.0.1:11434', true],
    ['http://localhost:1234/v1', true],
    ['http://[::1]:8080', true],
    ['127.0.0.1:11434', true],
    ['0.0.0.0:11434', true],
    ['https://api.minimax.io/v1', false],
    ['http://192.168.1.20:11434', false],
    ['not a url at all', false],
  ])('%s → %s', (url, expected) => {
    expect(isLoopbackUrl(url)).toBe(expected);
  });
});

describe('failureContexts', () => {
  const build = (model: string): FailureContext => ({
    provider: 'p',
    model,
    endpoint: 'http://h',
    fixes: { connection: 'c', auth: 'a', modelNotFound: `pull ${model}` },
  });

  it('builds a context once per model and hands out the same one after', () => {
    let built = 0;
    const context = failureContexts((model) => {
      built++;
      return build(model);
    });
    const first = context('a');
    expect(context('a')).toBe(first);
    expect(context('b')).toMatchObject({ model: 'b', fixes: { modelNotFound: 'pull b' } });
    expect(built).toBe(2);
  });

  it('starts over past its limit instead of growing', () => {
    let built = 0;
    const context = failureContexts((model) => {
      built++;
      return build(model);
    }, 2);
    context('a');
    context('b');
    context('c');
    context('a');
    expect(built).toBe(4);
  });
});
