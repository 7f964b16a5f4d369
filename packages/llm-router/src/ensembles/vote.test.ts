import { describe, expect, it } from 'vitest';
import { models, requestsFor, useEnsembleTestBed } from '../__tests__/ensemble-fixtures';
import { ask, collect } from '../__tests__/router-fixtures';
import { RouterError } from '../errors';

const { fakes, use, answer } = useEnsembleTestBed();

const three = { members: [models.minimax, models.qwen, models.llama], strategy: 'vote', extract: 'last_number' };

describe('vote', () => {
  it('returns the majority’s final answer with its vote count, and traces every member', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { text: '6 × 7 is 42.', usage: { promptTokens: 10, completionTokens: 5 } } });
    answer(fakes.ollama, {
      'qwen2.5-coder:7b': { text: 'Working: 6*7\nAnswer: 42' },
      'llama3.2:1b': { text: 'I think it is 48' },
    });
    const r = use({ maths: three });
    const response = await r.chat({ ...ask('what is 6 × 7?'), model: 'ensemble/maths' });

    expect(response.content).toBe('6 × 7 is 42.');
    expect(response.ensemble?.decision).toEqual({
      strategy: 'vote',
      index: 0,
      winner: '42',
      votes: 2,
      answers: 3,
      tally: [
        { answer: '42', votes: 2 },
        { answer: '48', votes: 1 },
      ],
    });
    expect(response.ensemble?.members.map((m) => [m.member, m.status, m.extracted])).toEqual([
      [models.minimax, 'answered', '42'],
      [models.qwen, 'answered', '42'],
      [models.llama, 'answered', '48'],
    ]);
    const first = response.ensemble?.members[0];
    expect(first?.usage).toEqual({ inputTokens: 10, outputTokens: 5, totalTokens: 15 });
    expect(first?.latencyMs).toBeGreaterThan(0);
    expect(first?.costUsd).toBeUndefined();
    expect(response.ensemble?.costUsd).toBeUndefined();
    // The response's usage is every call's; its attempts are every member's.
    const total = response.ensemble!.members.reduce((sum, m) => sum + (m.usage?.totalTokens ?? 0), 0);
    expect(response.usage.totalTokens).toBe(total);
    expect(response.attempts.map((a) => a.model)).toEqual([models.minimax, models.qwen, models.llama]);
  });

  it('breaks a tie by member order', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { text: 'Answer: 7' }, 'gpt-4o-mini': { text: 'Answer: 9' } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'Answer: 9' }, 'llama3.2:1b': { text: 'Answer: 7' } });
    const r = use({ tie: { members: [models.mini, models.minimax, models.qwen, models.llama], strategy: 'vote' } });
    const response = await r.chat({ ...ask('pick'), model: 'ensemble/tie' });
    expect(response.ensemble?.decision).toMatchObject({ winner: '9', votes: 2, index: 0 });
    expect(response.content).toBe('Answer: 9');
  });

  it('draws samples of one member with the response cache off, so that each is a new answer', async () => {
    const texts = ['= 12', '= 12', '= 13', '= 12', '= 13'];
    answer(fakes.ollama, { 'qwen2.5-coder:7b': (_request, call) => ({ text: texts[call - 1] ?? '= 0' }) });
    const r = use(
      { self: { members: [models.qwen], strategy: 'vote', samples: 5, extract: 'last_number', concurrency: 2 } },
      { router: { cache: { enabled: true } } },
    );
    const response = await r.chat({ ...ask('3 × 4?'), model: 'ensemble/self' });
    expect(requestsFor(fakes.ollama, 'qwen2.5-coder:7b').filter((q) => q.path === '/api/chat')).toHaveLength(5);
    expect(response.ensemble?.decision).toMatchObject({ winner: '12', votes: 3, answers: 5 });
    expect(response.ensemble?.members.map((m) => m.sample)).toEqual([1, 2, 3, 4, 5]);
  });

  it('decides without a failing member while the quorum (min_answers) is met', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 500 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'Answer: 5' }, 'llama3.2:1b': { text: 'Answer: 5' } });
    const r = use({ maths: { ...three, min_answers: 2 } });
    const response = await r.chat({ ...ask('2 + 3?'), model: 'ensemble/maths' });
    expect(response.content).toBe('Answer: 5');
    expect(response.ensemble?.decision).toMatchObject({ index: 1, votes: 2, answers: 2 });
    expect(response.ensemble?.members[0]).toMatchObject({
      status: 'failed',
      error: { code: 'ALL_PROVIDERS_FAILED', message: expect.stringContaining('SERVER_ERROR') },
    });
    expect(response.attempts[0]).toMatchObject({ model: models.minimax, ok: false });
  });

  it('fails with ENSEMBLE_FAILED naming every member’s failure when the quorum is not met', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 503 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'no idea' }, 'llama3.2:1b': { fault: 'status', status: 500 } });
    const r = use({ maths: { ...three, min_answers: 2 } });
    const error = await r.chat({ ...ask('2 + 3?'), model: 'ensemble/maths' }).catch((e: unknown) => e);
    expect(RouterError.isInstance(error)).toBe(true);
    const failure = error as RouterError;
    expect(failure.code).toBe('ENSEMBLE_FAILED');
    expect(failure.message).toContain('ensemble/maths (vote) could not decide: it needs 2 answer(s) to count');
    expect(failure.message).toContain(`1. ${models.minimax} failed:`);
    expect(failure.message).toContain(`2. ${models.qwen} answered with no final answer to count`);
    expect(failure.message).toContain(`3. ${models.llama} failed:`);
    expect(failure.fix).toContain('min_answers');
    expect(failure.attempts.map((a) => [a.model, a.ok])).toEqual([
      [models.minimax, false],
      [models.qwen, true],
      [models.llama, false],
    ]);
  });

  it('streams the decided answer once, then finishes with the trace', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { text: 'Answer: 1' } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'Answer: 2' }, 'llama3.2:1b': { text: 'Answer: 2' } });
    const r = use({ maths: three });
    const { events, text } = await collect(r.stream({ ...ask('1 or 2?'), model: 'ensemble/maths' }));
    expect(events.map((e) => e.type)).toEqual(['text-delta', 'finish']);
    expect(text).toBe('Answer: 2');
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.ensemble?.decision).toMatchObject({ winner: '2', votes: 2 });
  });
});
