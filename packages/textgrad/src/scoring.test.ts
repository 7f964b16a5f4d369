import type { ChatModel } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { reply } from './__tests__/test-helpers';
import { EvolutionError } from './errors';
import { functionEvaluator } from './evaluator';
import { scoringEvaluator } from './scoring';

const context = { candidateId: 'c', fileName: 'a.mjs' };
const command = functionEvaluator('command', () => ({ score: 40, feedback: '2 tests fail' }));
const judgeModel: ChatModel = { chat: async () => reply('{"score": 80, "feedback": "name things"}') };

describe('scoringEvaluator', () => {
  it('mixes the command and the judge by the judge’s weight, keeping both parts and both feedbacks', async () => {
    const { evaluator, weights } = scoringEvaluator({
      command,
      judge: { model: judgeModel, rubric: 'clear code' },
      judgeWeight: 0.25,
    });
    expect(weights).toEqual({ eval: 0.75, judge: 0.25 });
    const evaluation = await evaluator.evaluate('x', context);
    expect(evaluation.score).toBe(50);
    expect(evaluation.parts).toEqual({ eval: 40, judge: 80 });
    expect(evaluation.feedback).toBe('[eval: 40.0] 2 tests fail\n[judge: 80.0] name things');
  });

  it('weighs both equally by default', async () => {
    const { evaluator } = scoringEvaluator({ command, judge: { model: judgeModel, rubric: 'r' } });
    expect((await evaluator.evaluate('x', context)).score).toBe(60);
  });

  it('uses a single scorer as it is', async () => {
    const alone = scoringEvaluator({ judge: { model: judgeModel, rubric: 'r' } });
    expect(alone.weights).toEqual({ judge: 1 });
    expect(await alone.evaluator.evaluate('x', context)).toMatchObject({ score: 80, feedback: 'name things' });
    expect(scoringEvaluator({ command })).toEqual({ evaluator: command, weights: { eval: 1 } });
  });

  it('refuses no scorer at all and a weight outside 0–1', () => {
    expect(() => scoringEvaluator({})).toThrow(EvolutionError);
    expect(() => scoringEvaluator({ command, judge: { model: judgeModel, rubric: 'r' }, judgeWeight: 2 })).toThrow(
      'judgeWeight: expected a number 0–1, got 2',
    );
  });
});
