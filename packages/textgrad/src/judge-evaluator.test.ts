import type { ChatModel, ChatRequest } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { reply } from './__tests__/test-helpers';
import { EvolutionError } from './errors';
import { judgeEvaluator } from './judge-evaluator';

function scripted(replies: string[]): ChatModel & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    requests,
    chat: async (request) => {
      requests.push(request);
      return reply(replies.shift() ?? '');
    },
  };
}

const context = { candidateId: 'c', fileName: 'a.py' };

describe('judgeEvaluator', () => {
  it('asks for structured output with a JSON schema and returns score, feedback and tokens', async () => {
    const model = scripted(['{"score": 81, "feedback": "name the loop variable"}']);
    const result = await judgeEvaluator({
      model,
      rubric: 'readable code',
      prices: { '*': { inputPer1k: 1, outputPer1k: 1 } },
    }).evaluate('print(1)', context);
    expect(result).toEqual({
      score: 81,
      feedback: 'name the loop variable',
      tokens: 120,
      costUsd: expect.closeTo(0.12),
    });
    const request = model.requests[0] as ChatRequest;
    expect(request.responseFormat?.type).toBe('json');
    expect(request.responseFormat?.schema).toMatchObject({ required: ['score', 'feedback'] });
    expect(request.messages[0]?.content).toContain('readable code');
    expect(request.messages[1]?.content).toContain('print(1)');
  });

  it('asks once more after an invalid answer, saying what was wrong', async () => {
    const model = scripted(['{"score": 140, "feedback": "x"}', 'Sure! {"score": 60, "feedback": "ok"}']);
    const result = await judgeEvaluator({ model, rubric: 'r' }).evaluate('x', context);
    expect(result.score).toBe(60);
    expect(result.tokens).toBe(240);
    expect(model.requests[1]?.messages.at(-1)?.content).toContain('score');
  });

  it('fails with JUDGE_INVALID after two invalid answers', async () => {
    const model = scripted(['not json at all', '{"score": "high",}']);
    const error = await judgeEvaluator({ model, rubric: 'r' })
      .evaluate('x', context)
      .catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('JUDGE_INVALID');
    expect(error.message).toContain('malformed JSON');
    expect(model.requests).toHaveLength(2);
  });

  it('passes a model failure through, so the candidate fails', async () => {
    const model: ChatModel = { chat: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:11434')) };
    await expect(judgeEvaluator({ model, rubric: 'r' }).evaluate('x', context)).rejects.toThrow('ECONNREFUSED');
  });
});
