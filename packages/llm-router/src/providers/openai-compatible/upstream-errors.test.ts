import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { statusError, streamedError, throwIfBaseRespError, wireErrorMessage } from './upstream-errors';

describe('throwIfBaseRespError', () => {
  it('lets a body without a failing base_resp through', () => {
    expect(() => throwIfBaseRespError(testContext, { choices: [] })).not.toThrow();
    expect(() => throwIfBaseRespError(testContext, { base_resp: { status_code: 0 } })).not.toThrow();
    expect(() => throwIfBaseRespError(testContext, null)).not.toThrow();
  });

  it.each([
    [1002, 'RATE_LIMITED'],
    [2056, 'RATE_LIMITED'],
    [2049, 'AUTH_FAILED'],
    [2013, 'BAD_REQUEST'],
    [1000, 'UPSTREAM_ERROR'],
  ])('throws status_code %i as %s, quoting it', (statusCode, code) => {
    expect(() =>
      throwIfBaseRespError(testContext, { base_resp: { status_code: statusCode, status_msg: 'said so' } }),
    ).toThrow(
      expect.objectContaining({ code, message: expect.stringContaining(`${statusCode} (said so)`), status: 200 }),
    );
  });
});

describe('wireErrorMessage', () => {
  it('takes the message of an error object', () => {
    expect(wireErrorMessage(400, { message: 'too long', type: 'x' })).toBe('too long');
  });

  it('falls back to the object, then the text, with the status in front', () => {
    expect(wireErrorMessage(400, { code: 'bad' })).toBe('400 {"code":"bad"}');
    expect(wireErrorMessage(502, undefined, 'Bad Gateway')).toBe('502 Bad Gateway');
    expect(wireErrorMessage(502, undefined, '')).toBe('502 status code (no body)');
    expect(wireErrorMessage(undefined, 'boom')).toBe('"boom"');
  });
});

describe('statusError', () => {
  it('classifies the status, quotes error.message and reads Retry-After', () => {
    const error = statusError(
      testContext,
      429,
      { 'retry-after': '7' },
      JSON.stringify({ error: { message: 'Rate limit reached' } }),
    );
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterMs: 7000 });
    expect(error.message).toContain('Rate limit reached');
  });

  it('quotes a body that is not JSON', () => {
    expect(statusError(testContext, 503, {}, '<html>down</html>').message).toContain('503 <html>down</html>');
  });
});

describe('streamedError', () => {
  it('is an UPSTREAM_ERROR quoting the event', () => {
    expect(streamedError(testContext, { message: 'engine crashed' })).toMatchObject({
      code: 'UPSTREAM_ERROR',
      message: expect.stringContaining('engine crashed'),
    });
  });
});
