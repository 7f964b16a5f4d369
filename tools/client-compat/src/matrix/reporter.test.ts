import { describe, expect, it } from 'vitest';
import type { Cell } from './cells';
import { type Observed, summary } from './reporter';

const works: Cell = { client: 'openai', feature: 'chat', outcome: 'works' };
const refused: Cell = { client: 'openai', feature: 'chat', outcome: 'error', status: 404, message: 'not served' };
const observed = (passed: Cell[], failed: string[] = []): Observed => ({ passed, failed, tests: [] });

describe('the matrix says only what passing tests showed', () => {
  it('says "not yet" for a cell no test covers', () => {
    expect(summary(undefined)).toBe('not yet');
    expect(summary(observed([]))).toBe('not yet');
  });

  it('says FAILS when any test of the cell failed, whatever others passed', () => {
    expect(summary(observed([works, refused], ['answers']))).toBe('**FAILS**');
  });

  it('says works, clear error with its status, or both', () => {
    expect(summary(observed([works]))).toBe('works');
    expect(summary(observed([refused]))).toBe('clear error (404)');
    expect(summary(observed([works, refused, { ...refused, status: 400 }]))).toBe('works · clear error (404/400)');
  });
});
