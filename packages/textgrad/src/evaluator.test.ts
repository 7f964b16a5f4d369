import { describe, expect, it } from 'vitest';
import { EvolutionError } from './errors';
import { combineEvaluators, functionEvaluator } from './evaluator';

const context = { candidateId: 'c', fileName: 'a.py' };

describe('combineEvaluators', () => {
  it('weights the scores, keeps each part’s score under its name and labels its feedback', async () => {
    const command = functionEvaluator('command', () => ({ score: 40 }));
    const judge = functionEvaluator('judge', () => ({ score: 100, feedback: 'fine', tokens: 30, costUsd: 0.01 }));
    const combined = combineEvaluators([
      { evaluator: command, weight: 3, name: 'eval' },
      { evaluator: judge, weight: 1 },
    ]);
    expect(combined.name).toBe('combined(eval×3, judge×1)');
    expect(await combined.evaluate('x', context)).toEqual({
      score: 55,
      feedback: '[judge: 100.0] fine',
      tokens: 30,
      costUsd: 0.01,
      parts: { eval: 40, judge: 100 },
    });
  });

  it('fails the candidate when a part throws', async () => {
    const combined = combineEvaluators([
      { evaluator: functionEvaluator('ok', () => ({ score: 1 })), weight: 1 },
      {
        evaluator: functionEvaluator('bad', () => {
          throw new Error('judge down');
        }),
        weight: 1,
      },
    ]);
    await expect(combined.evaluate('x', context)).rejects.toThrow('judge down');
  });

  it('refuses no parts, a negative weight and weights adding up to 0', () => {
    const part = functionEvaluator('p', () => ({ score: 1 }));
    expect(() => combineEvaluators([])).toThrow(EvolutionError);
    expect(() => combineEvaluators([{ evaluator: part, weight: -1 }])).toThrow('weight: expected a number ≥ 0');
    expect(() => combineEvaluators([{ evaluator: part, weight: 0 }])).toThrow('the weights add up to 0');
  });
});
