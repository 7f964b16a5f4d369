import { describe, expect, it } from 'vitest';
import { EvolutionError } from './errors';
import { testCommandEvaluator } from './test-evaluator';
import { parseTestSummary } from './test-summary';

describe('parseTestSummary', () => {
  it('reads the plain closing line', () => {
    expect(parseTestSummary('tests: 3 passed, 1 failed, 2 skipped')).toMatchObject({ passed: 3, failed: 1 });
  });

  it('reads pytest, Jest, Vitest and mocha summaries', () => {
    expect(parseTestSummary('FAILED t.py::test_a - assert 1 == 2\n==== 1 failed, 4 passed in 0.1s ====')).toMatchObject(
      {
        passed: 4,
        failed: 1,
        failures: ['FAILED t.py::test_a - assert 1 == 2'],
      },
    );
    expect(parseTestSummary('Test Suites: 1 failed, 1 total\nTests:       2 failed, 6 passed, 8 total')).toMatchObject({
      passed: 6,
      failed: 2,
    });
    expect(parseTestSummary(' Test Files  1 failed (1)\n      Tests  1 failed | 3 passed (4)')).toMatchObject({
      passed: 3,
      failed: 1,
    });
    expect(parseTestSummary('  5 passing (10ms)\n  2 failing')).toMatchObject({ passed: 5, failed: 2 });
  });

  it('reads TAP and node --test summaries, and failing test names', () => {
    const tap = 'TAP version 13\nok 1 - adds\nnot ok 2 - subtracts\n1..2\n# tests 2\n# pass 1\n# fail 1\n';
    expect(parseTestSummary(tap)).toEqual({ passed: 1, failed: 1, failures: ['not ok 2 - subtracts'] });
    expect(parseTestSummary('✔ adds (0.5ms)\n✖ subtracts (1ms)\nℹ tests 2\nℹ pass 1\nℹ fail 1')).toMatchObject({
      passed: 1,
      failed: 1,
      failures: ['✖ subtracts (1ms)'],
    });
    expect(parseTestSummary('ok 1 - a\nok 2 - b\nnot ok 3 - c\n')).toMatchObject({ passed: 2, failed: 1 });
  });

  it('strips colour codes and says undefined when there is no summary', () => {
    expect(parseTestSummary('\u001b[32m7 passed\u001b[39m, \u001b[31m0 failed\u001b[39m')).toMatchObject({ passed: 7 });
    expect(parseTestSummary('compiled fine')).toBeUndefined();
  });
});

describe('testCommandEvaluator', () => {
  const context = { candidateId: 'c', fileName: 'impl.mjs' };
  const runner = `import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
const { add } = await import(pathToFileURL(process.argv.at(-1)).href);
test('adds small numbers', () => assert.equal(add(1, 2), 3));
test('adds negatives', () => assert.equal(add(-1, -2), -3));
test('adds zero', () => assert.equal(add(0, 5), 5));
test('adds large numbers', () => assert.equal(add(1e6, 1), 1000001));
`;
  const evaluator = testCommandEvaluator({
    command: 'node --test-reporter=tap add.test.mjs',
    files: { 'add.test.mjs': runner },
    env: { PATH: process.env.PATH },
  });

  it('scores a node --test run by its pass ratio and lists the failures as feedback', async () => {
    const result = await evaluator.evaluate('export const add = (a, b) => (a > 0 ? a + b : 0);', context);
    expect(result.score).toBe(50);
    expect(result.feedback).toContain('2 of 4 tests failed');
    expect(result.feedback).toContain('adds negatives');
  });

  it('scores 100 when every test passes', async () => {
    const result = await evaluator.evaluate('export const add = (a, b) => a + b;', context);
    expect(result).toEqual({ score: 100, feedback: 'all 4 tests passed' });
  });

  it('fails when the output holds no test summary', async () => {
    const error = await testCommandEvaluator({ command: 'echo compiled #' })
      .evaluate('x', context)
      .catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('EVALUATION_FAILED');
    expect(error.message).toContain('printed no test summary');
  });
});
