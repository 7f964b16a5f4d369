import type { RecordedRequest } from '@unity/test-kit';
import { describe, expect, it, vi } from 'vitest';
import { models, useEnsembleTestBed } from '../__tests__/ensemble-fixtures';
import { ask, collect } from '../__tests__/router-fixtures';
import { RouterError } from '../errors';

const { fakes, use, answer } = useEnsembleTestBed();

const cloudFirst = { members: [models.minimax, models.qwen], strategy: 'race' };
const cloudChats = () => fakes.cloud.requestsTo('/chat/completions');
const ollamaChats = () => fakes.ollama.requestsTo('/api/chat');
/** The upstream saw the client go away before its answer was complete. */
const seesCancel = (requests: () => RecordedRequest[]) =>
  vi.waitFor(() => expect(requests()[0]?.aborted).toBe(true), { timeout: 5_000 });

describe('race', () => {
  it('answers with the first valid answer and cancels the slower member upstream', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'slow-first-byte', ms: 10_000 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'quick answer' } });
    const response = await use({ fast: cloudFirst }).chat({ ...ask('?'), model: 'ensemble/fast' });

    expect(response.content).toBe('quick answer');
    expect(response.ensemble?.decision).toEqual({ strategy: 'race', index: 1, hedges: [] });
    expect(response.ensemble?.members.map((m) => m.status)).toEqual(['cancelled', 'answered']);
    expect(response.ensemble?.members[1]?.firstTokenMs).toBeGreaterThan(0);
    await seesCancel(cloudChats);
  });

  it('lets a later member win when an earlier one fails', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 500 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'still answered', delayMs: 100 } });
    const response = await use({ fast: cloudFirst }).chat({ ...ask('?'), model: 'ensemble/fast' });
    expect(response.content).toBe('still answered');
    expect(response.ensemble?.members[0]).toMatchObject({ status: 'failed', error: { code: 'ALL_PROVIDERS_FAILED' } });
    expect(response.attempts.map((a) => [a.model, a.ok])).toEqual([
      [models.minimax, false],
      [models.qwen, true],
    ]);
  });

  it('fails with ENSEMBLE_FAILED naming each member’s failure when none answers', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 500 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'status', status: 503 } });
    const error = (await use({ fast: cloudFirst })
      .chat({ ...ask('?'), model: 'ensemble/fast' })
      .catch((e: unknown) => e)) as RouterError;
    expect(RouterError.isInstance(error) && error.code).toBe('ENSEMBLE_FAILED');
    expect(error.message).toContain('ensemble/fast (race) could not decide: no member gave an answer');
    expect(error.message).toContain(`1. ${models.minimax} failed:`);
    expect(error.message).toContain(`2. ${models.qwen} failed:`);
  });

  it('runs members one at a time under concurrency: 1, the next only when one fails', async () => {
    const arrived: Record<string, number> = {};
    answer(fakes.cloud, {
      // An empty answer after 200 ms: not a valid answer, so the race goes on.
      'MiniMax-M2': () => {
        arrived.cloud = performance.now();
        return { text: '', delayMs: 200 };
      },
    });
    answer(fakes.ollama, {
      'qwen2.5-coder:7b': () => {
        arrived.local = performance.now();
        return { text: 'after the cloud gave nothing' };
      },
    });
    const r = use({ fast: { ...cloudFirst, concurrency: 1 } });
    const response = await r.chat({ ...ask('?'), model: 'ensemble/fast' });
    expect(response.content).toBe('after the cloud gave nothing');
    expect(response.ensemble?.members[0]).toMatchObject({ status: 'failed', error: { code: 'EMPTY_ANSWER' } });
    // The local member was only asked once the cloud's (delayed) empty answer was in.
    expect(arrived.local! - arrived.cloud!).toBeGreaterThanOrEqual(190);
  });

  describe('hedging', () => {
    it('does not start the next member when the first answers within hedge_after_ms', async () => {
      answer(fakes.cloud, { 'MiniMax-M2': { text: 'first' } });
      const r = use({ fast: { ...cloudFirst, hedge_after_ms: 5_000 } });
      const response = await r.chat({ ...ask('?'), model: 'ensemble/fast' });
      expect(response.content).toBe('first');
      expect(ollamaChats()).toHaveLength(0);
      expect(response.ensemble?.members[1]?.status).toBe('not-started');
    });

    it('starts the next member after hedge_after_ms without a first token, and cancels the slow one', async () => {
      answer(fakes.cloud, { 'MiniMax-M2': { fault: 'slow-first-byte', ms: 10_000 } });
      answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'hedged answer' } });
      const r = use({ fast: { ...cloudFirst, hedge_after_ms: 100 } });
      const response = await r.chat({ ...ask('?'), model: 'ensemble/fast' });
      expect(response.content).toBe('hedged answer');
      const decision = response.ensemble?.decision;
      expect(decision?.strategy === 'race' && decision.hedges).toEqual([{ index: 1, afterMs: expect.any(Number) }]);
      expect(decision?.strategy === 'race' && decision.hedges[0]!.afterMs).toBeGreaterThanOrEqual(100);
      await seesCancel(cloudChats);
    });

    it('with hedge: p95, waits the first member’s learnt p95 instead of the initial hedge_after_ms', async () => {
      let slow = false;
      answer(fakes.cloud, {
        'MiniMax-M2': () => (slow ? { fault: 'slow-first-byte', ms: 10_000 } : { text: 'usual answer' }),
      });
      answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'hedged answer' } });
      const r = use({ fast: { ...cloudFirst, hedge: 'p95', hedge_after_ms: 8_000 } });
      // Until a few times are known, hedge_after_ms (8 s) holds: the first member answers alone.
      for (let i = 0; i < 5; i++) await r.chat({ ...ask(`warm ${i}`), model: 'ensemble/fast' });
      expect(ollamaChats()).toHaveLength(0);

      slow = true;
      const response = await r.chat({ ...ask('now slow'), model: 'ensemble/fast' });
      expect(response.content).toBe('hedged answer');
      const decision = response.ensemble?.decision;
      // Started after the learnt p95 (the fake answers in milliseconds), far sooner than the 8 s it began with.
      expect(decision?.strategy === 'race' && decision.hedges[0]!.afterMs).toBeLessThan(4_000);
      await vi.waitFor(() => expect(cloudChats().at(-1)?.aborted).toBe(true));
    });
  });

  describe('streaming', () => {
    it('commits to the first member with a first token, streams its tokens, and cancels the other', async () => {
      answer(fakes.cloud, { 'MiniMax-M2': { text: 'one two three', chunkDelayMs: 20 } });
      answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'slow-first-byte', ms: 10_000 } });
      const { events, text } = await collect(use({ fast: cloudFirst }).stream({ ...ask('?'), model: 'ensemble/fast' }));
      expect(text).toBe('one two three');
      expect(events.filter((e) => e.type === 'text-delta').length).toBe(3);
      const finish = events.at(-1);
      expect(finish?.type === 'finish' && finish.response.ensemble?.members.map((m) => m.status)).toEqual([
        'answered',
        'cancelled',
      ]);
      await seesCancel(ollamaChats);
    });

    it('streams the later member when the first fails before any token', async () => {
      answer(fakes.cloud, { 'MiniMax-M2': { fault: 'cut-before-first-token' } });
      answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'from the local model', delayMs: 50 } });
      const { text } = await collect(use({ fast: cloudFirst }).stream({ ...ask('?'), model: 'ensemble/fast' }));
      expect(text).toBe('from the local model');
    });

    it('ends with STREAM_INTERRUPTED, not another member’s text, when the winner breaks off', async () => {
      answer(fakes.cloud, {
        'MiniMax-M2': { fault: 'cut-after-chunks', chunks: 1, reply: { text: 'partial answer' } },
      });
      answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'late', delayMs: 300 } });
      const { events, text } = await collect(use({ fast: cloudFirst }).stream({ ...ask('?'), model: 'ensemble/fast' }));
      expect(text).toBe('partial ');
      const last = events.at(-1);
      expect(last?.type === 'error' && last.error.code).toBe('STREAM_INTERRUPTED');
    });

    it('cancels every member upstream when the consumer stops reading', async () => {
      answer(fakes.cloud, { 'MiniMax-M2': { text: 'a b c d e f', chunkDelayMs: 200 } });
      answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'slow-first-byte', ms: 10_000 } });
      const stream = use({ fast: cloudFirst }).stream({ ...ask('?'), model: 'ensemble/fast' });
      for await (const event of stream) if (event.type === 'text-delta') break;
      await seesCancel(cloudChats);
      await seesCancel(ollamaChats);
    });
  });

  it('stops with ABORTED when the caller aborts, and every upstream sees the cancel', async () => {
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'slow-first-byte', ms: 10_000 } });
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'slow-first-byte', ms: 10_000 } });
    const controller = new AbortController();
    const pending = use({ fast: cloudFirst }).chat({ ...ask('?'), model: 'ensemble/fast', signal: controller.signal });
    await vi.waitFor(() => expect(ollamaChats()).toHaveLength(1));
    await vi.waitFor(() => expect(cloudChats()).toHaveLength(1));
    controller.abort(new Error('user cancelled'));
    const error = (await pending.catch((e: unknown) => e)) as RouterError;
    expect(RouterError.isInstance(error) && error.code).toBe('ABORTED');
    await seesCancel(cloudChats);
    await seesCancel(ollamaChats);
  });
});
