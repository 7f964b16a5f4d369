import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { ollamaStatusError, toolsUnsupported } from './status-error';

describe('ollamaStatusError', () => {
  it('quotes the error field and classifies the status', () => {
    const error = ollamaStatusError(testContext, 404, {}, '{"error":"model \\"m1\\" not found, try pulling it first"}');
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', status: 404, fix: 'pull it' });
    expect(error.message).toContain('try pulling it first');
  });

  it('reads Retry-After', () => {
    expect(ollamaStatusError(testContext, 429, { 'retry-after': '3' }, '{"error":"busy"}')).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 3000,
    });
  });

  it('quotes a body that is not JSON, and says nothing for an empty or unreadable one', () => {
    expect(ollamaStatusError(testContext, 502, {}, 'bad gateway\n').message).toMatch(
      /HTTP 502 for model m1: bad gateway/,
    );
    expect(ollamaStatusError(testContext, 500, {}, '  ').message).toMatch(/HTTP 500 for model m1$/);
    expect(ollamaStatusError(testContext, 500, {}, undefined).message).toMatch(/HTTP 500 for model m1$/);
  });

  it('classifies "does not support tools" under 400 as UNSUPPORTED with the fix', () => {
    const error = ollamaStatusError(
      testContext,
      400,
      {},
      '{"error":"registry.ollama.ai/library/m1 does not support tools"}',
    );
    expect(error).toMatchObject({ code: 'UNSUPPORTED', status: 400, fix: expect.stringContaining('tool support') });
  });
});

describe('toolsUnsupported', () => {
  it('names the model and the endpoint', () => {
    expect(toolsUnsupported(testContext)).toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringContaining('model m1 on http://127.0.0.1:1/v1 does not support tools'),
    });
  });
});
