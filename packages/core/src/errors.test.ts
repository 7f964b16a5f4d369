import { describe, expect, it } from 'vitest';
import { describeError, formatError, UnityError } from './errors';

class ExampleError extends UnityError<'EXAMPLE_BROKEN'> {
  override name = 'ExampleError';
}

describe('UnityError', () => {
  it('carries a code, the message, the fix apart from it, and the cause', () => {
    const cause = new Error('socket hang up');
    const error = new UnityError({ code: 'X_FAILED', message: 'x failed at y', fix: 'restart x', cause });
    expect(error.code).toBe('X_FAILED');
    expect(error.message).toBe('x failed at y');
    expect(error.fix).toBe('restart x');
    expect(error.cause).toBe(cause);
  });

  it('is formatted with its fix on a line of its own by formatError', () => {
    expect(formatError(new UnityError({ code: 'X', message: 'x failed', fix: 'restart x' }))).toBe(
      'x failed\nFix: restart x',
    );
    expect(formatError(new UnityError({ code: 'X', message: 'x failed' }))).toBe('x failed');
    expect(formatError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('refused (ECONNREFUSED)');
  });

  it('is recognised by marker, not by prototype, so duplicate package copies still match', () => {
    const foreign = Object.assign(new Error('from another copy'), { [Symbol.for('unity.error')]: true });
    expect(UnityError.isInstance(foreign)).toBe(true);
    expect(UnityError.isInstance(new Error('plain'))).toBe(false);
    expect(UnityError.isInstance(null)).toBe(false);
    expect(UnityError.isInstance(new ExampleError({ code: 'EXAMPLE_BROKEN', message: 'm' }))).toBe(true);
  });
});

describe('describeError', () => {
  it('appends a system error code that the message does not already name', () => {
    const error = Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' });
    expect(describeError(error)).toBe('connect failed (ECONNREFUSED)');
    expect(describeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'connect ECONNREFUSED',
    );
    expect(describeError('text')).toBe('text');
  });
});
