import { describe, expect, it } from 'vitest';
import { models, useEnsembleTestBed } from '../__tests__/ensemble-fixtures';
import { ask } from '../__tests__/router-fixtures';
import { RouterError } from '../errors';

const { fakes, use, answer } = useEnsembleTestBed();

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as RouterError,
  );

describe('ensemble/<name> models', () => {
  it('refuses an ensemble the config does not define, naming the known ones, before asking any model', async () => {
    const r = use({ fast: { members: [models.minimax, models.qwen], strategy: 'race' } });
    const error = await failure(r.chat({ ...ask('?'), model: 'ensemble/slow' }));
    expect(RouterError.isInstance(error) && error.code).toBe('INVALID_REQUEST');
    expect(error?.param).toBe('model');
    expect(error?.message).toBe('model "ensemble/slow" names no ensemble of the config; known: ensemble/fast');
    expect(error?.fix).toContain('ensembles.slow');
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('asks a role member as that role’s model, and keeps each member’s own fallback chain', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 500 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'Answer: 4' }, 'llama3.2:1b': { text: 'Answer: 4' } });
    // The cloud member falls back to models.reasoning (qwen), as any routed request would.
    const r = use(
      { both: { members: [models.minimax, 'fallback'], strategy: 'vote' } },
      { cloud_llm: { fallback_to_local: true } },
    );
    const response = await r.chat({ ...ask('2 + 2?'), model: 'ensemble/both' });
    expect(response.ensemble?.members).toMatchObject([
      { member: models.minimax, model: models.minimax, answeredBy: models.qwen, status: 'answered' },
      { member: 'fallback', model: models.llama, answeredBy: models.llama, status: 'answered' },
    ]);
    expect(response.ensemble?.decision).toMatchObject({ winner: '4', votes: 2 });
    expect(response.attempts.map((a) => [a.model, a.ok])).toEqual([
      [models.minimax, false],
      [models.qwen, true],
      [models.llama, true],
    ]);
  });

  it('prices each call where the ensemble’s prices name its model, and totals them only when all are priced', async () => {
    answer(fakes.cloud, {
      'MiniMax-M2': { text: 'Answer: 1', usage: { promptTokens: 1000, completionTokens: 500 } },
      'gpt-4o-mini': { text: 'Answer: 1', usage: { promptTokens: 2000, completionTokens: 1000 } },
    });
    const prices = {
      [models.minimax]: { input_per_mtok: 0.3, output_per_mtok: 1.2 },
      [models.mini]: { input_per_mtok: 0.15, output_per_mtok: 0.6 },
    };
    const r = use({
      priced: { members: [models.minimax, models.mini], strategy: 'vote', prices },
      partly: { members: [models.minimax, models.qwen], strategy: 'vote', prices },
    });
    const priced = await r.chat({ ...ask('?'), model: 'ensemble/priced' });
    expect(priced.ensemble?.members.map((m) => m.costUsd)).toEqual([0.0009, 0.0009]);
    expect(priced.ensemble?.costUsd).toBeCloseTo(0.0018, 10);

    const partly = await r.chat({ ...ask('?'), model: 'ensemble/partly' });
    expect(partly.ensemble?.members[0]?.costUsd).toBeCloseTo(0.0009, 10);
    expect(partly.ensemble?.members[1]).not.toHaveProperty('costUsd');
    expect(partly.ensemble).not.toHaveProperty('costUsd');
  });

  it('gives up with DEADLINE_EXCEEDED at the request’s deadline, members still running', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'slow-first-byte', ms: 10_000 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'slow-first-byte', ms: 10_000 } });
    const r = use({ slow: { members: [models.minimax, models.qwen], strategy: 'vote' } });
    const error = await failure(r.chat({ ...ask('?'), model: 'ensemble/slow', deadlineMs: 150 }));
    expect(RouterError.isInstance(error) && error.code).toBe('DEADLINE_EXCEEDED');
    expect(error?.message).toContain("ensemble/slow gave no answer within the request's deadline (deadlineMs = 150)");
  });

  it('refuses at once a request whose signal is already aborted', async () => {
    const r = use({ fast: { members: [models.minimax, models.qwen], strategy: 'race' } });
    const error = await failure(r.chat({ ...ask('?'), model: 'ensemble/fast', signal: AbortSignal.abort() }));
    expect(RouterError.isInstance(error) && error.code).toBe('ABORTED');
    expect(fakes.cloud.requests).toHaveLength(0);
  });
});
