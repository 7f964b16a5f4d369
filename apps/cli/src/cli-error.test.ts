import { UnityError } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { reportCliError } from './cli-error';

describe('reportCliError', () => {
  it('prints an expected failure as its message and fix, without a stack, exit 1', () => {
    let out = '';
    const code = reportCliError(new UnityError({ code: 'X', message: 'config broken', fix: 'edit it' }), (t) => {
      out += t;
    });
    expect(code).toBe(1);
    expect(out).toBe('unity: config broken\nFix: edit it\n');
  });

  it('prints a bug with its stack, exit 70', () => {
    let out = '';
    expect(reportCliError(new TypeError('x is undefined'), (t) => (out += t))).toBe(70);
    expect(out).toMatch(/a bug[\s\S]*TypeError: x is undefined\n\s+at /);
  });
});
