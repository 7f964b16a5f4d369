import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { models, requestsFor, useEnsembleTestBed } from '../__tests__/ensemble-fixtures';
import { ask, collect } from '../__tests__/router-fixtures';
import { RouterError } from '../errors';
import { parseVerdict } from './judge';

const { fakes, use, answer } = useEnsembleTestBed();

const best = { members: [models.qwen, models.llama], strategy: 'judge', judge: models.minimax };
const judgeRequests = () => requestsFor(fakes.cloud, 'MiniMax-M2');
const tool = (name: string): ToolDefinition => ({
  name,
  description: name,
  parameters: { type: 'object', properties: {} },
});
const tools = [tool('get_weather'), tool('get_time')];
/** Members that can call tools (the fake's llama3.2:1b cannot). */
const withTools = { ...best, members: [models.qwen, models.mini] };

describe('judge', () => {
  it('asks the judge with the candidates numbered, returns its pick, and traces its reason', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'Paris is in Italy.' }, 'llama3.2:1b': { text: 'Paris.' } });
    answer(fakes.cloud, { 'MiniMax-M2': { text: '{"choice": 2, "reason": "candidate 1 is wrong"}' } });
    const r = use({ best });
    const response = await r.chat({ ...ask('capital of France?'), model: 'ensemble/best' });

    expect(response.content).toBe('Paris.');
    expect(response.ensemble?.decision).toEqual({
      strategy: 'judge',
      index: 1,
      choice: 2,
      reason: 'candidate 1 is wrong',
      by: 'json',
      candidates: 2,
    });
    expect(response.ensemble?.judge).toMatchObject({ member: models.minimax, status: 'answered' });
    const prompt = JSON.stringify((judgeRequests()[0]!.body as { messages: unknown }).messages);
    expect(prompt).toContain('capital of France?');
    expect(prompt).toContain('### Candidate 1\\n<<<\\nParis is in Italy.\\n>>>');
    expect(prompt).toContain('### Candidate 2\\n<<<\\nParis.\\n>>>');
    // Every call's tokens and attempts: the members', then the judge's.
    expect(response.attempts.map((a) => a.model)).toEqual([models.qwen, models.llama, models.minimax]);
    const total = [...response.ensemble!.members, response.ensemble!.judge!].reduce(
      (sum, m) => sum + (m.usage?.totalTokens ?? 0),
      0,
    );
    expect(response.usage.totalTokens).toBe(total);
  });

  it('reads the choice from the judge’s text when its reply is not the JSON asked for', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'A' }, 'llama3.2:1b': { text: 'B' } });
    answer(fakes.cloud, { 'MiniMax-M2': { text: 'I prefer Candidate 2, it is shorter.' } });
    const response = await use({ best }).chat({ ...ask('?'), model: 'ensemble/best' });
    expect(response.content).toBe('B');
    expect(response.ensemble?.decision).toMatchObject({ by: 'regex', choice: 2 });
  });

  it('skips the judge when only one member answered', async () => {
    answer(fakes.ollama, {
      'qwen2.5-coder:7b': { text: 'the only answer' },
      'llama3.2:1b': { fault: 'status', status: 500 },
    });
    const response = await use({ best }).chat({ ...ask('?'), model: 'ensemble/best' });
    expect(response.content).toBe('the only answer');
    expect(response.ensemble?.decision).toMatchObject({ by: 'single-candidate', index: 0, candidates: 1 });
    expect(response.ensemble?.members[1]).toMatchObject({ status: 'failed', error: { code: 'ALL_PROVIDERS_FAILED' } });
    expect(judgeRequests()).toHaveLength(0);
  });

  it('keeps the first answer when the judge fails, and says so in the trace', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'first' }, 'llama3.2:1b': { text: 'second' } });
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 503 } });
    const response = await use({ best }).chat({ ...ask('?'), model: 'ensemble/best' });
    expect(response.content).toBe('first');
    expect(response.ensemble?.decision).toMatchObject({
      by: 'judge-failed',
      index: 0,
      reason: expect.stringContaining('the judge failed, so the first answer stands'),
    });
    expect(response.ensemble?.judge).toMatchObject({ status: 'failed' });
  });

  it('fails with ENSEMBLE_FAILED naming each member’s failure when no member answered', async () => {
    answer(fakes.ollama, {
      'qwen2.5-coder:7b': { fault: 'status', status: 500 },
      'llama3.2:1b': { fault: 'status', status: 404, message: 'model not found' },
    });
    const error = (await use({ best })
      .chat({ ...ask('?'), model: 'ensemble/best' })
      .catch((e: unknown) => e)) as RouterError;
    expect(RouterError.isInstance(error)).toBe(true);
    expect(error.code).toBe('ENSEMBLE_FAILED');
    expect(error.message).toContain('ensemble/best (judge) could not decide: no member gave an answer to judge');
    expect(error.message).toContain(`1. ${models.qwen} failed:`);
    expect(error.message).toContain(`2. ${models.llama} failed:`);
    expect(judgeRequests()).toHaveLength(0);
  });

  it('returns the first tool-call answer, without a judge, when no member answered with text', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { toolCalls: [{ name: 'get_weather', arguments: {} }] } });
    answer(fakes.cloud, { 'gpt-4o-mini': { toolCalls: [{ name: 'get_time', arguments: {} }] } });
    const response = await use({ best: withTools }).chat({ ...ask('?'), tools, model: 'ensemble/best' });
    expect(response.toolCalls.map((c) => c.name)).toEqual(['get_weather']);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.ensemble?.decision).toEqual({
      strategy: 'judge',
      index: 0,
      by: 'tool-calls',
      candidates: 0,
      reason: `no member answered with text to judge; ${models.qwen} (member 1) answered with tool calls only, so its answer stands`,
    });
    expect(response.ensemble?.judge).toBeUndefined();
    expect(judgeRequests()).toHaveLength(0);
  });

  it('judges only the answers with text when other members answered with tool calls', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { toolCalls: [{ name: 'get_weather', arguments: {} }] } });
    answer(fakes.cloud, { 'gpt-4o-mini': { text: 'It is sunny.' } });
    const response = await use({ best: withTools }).chat({ ...ask('?'), tools, model: 'ensemble/best' });
    expect(response.content).toBe('It is sunny.');
    expect(response.toolCalls).toEqual([]);
    expect(response.ensemble?.decision).toMatchObject({ by: 'single-candidate', index: 1, candidates: 1 });
    expect(judgeRequests()).toHaveLength(0);
  });

  it('streams the judged answer once decided', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'one two three' }, 'llama3.2:1b': { text: 'four' } });
    answer(fakes.cloud, { 'MiniMax-M2': { text: '{"choice": 1, "reason": "longer"}' } });
    const { events, text } = await collect(use({ best }).stream({ ...ask('?'), model: 'ensemble/best' }));
    expect(text).toBe('one two three');
    expect(events.map((e) => e.type)).toEqual(['text-delta', 'finish']);
  });
});

describe('parseVerdict', () => {
  it('reads the JSON verdict, in a code fence and after reasoning too', () => {
    expect(parseVerdict('{"choice": 2, "reason": "it is correct"}', 3)).toEqual({
      choice: 2,
      reason: 'it is correct',
      by: 'json',
    });
    expect(
      parseVerdict('<think>hmm {"choice": 1}</think>```json\n{"choice": 3, "reason": "complete"}\n```', 3),
    ).toEqual({ choice: 3, reason: 'complete', by: 'json' });
  });

  it('falls back to a choice named in the text when the JSON is not as asked', () => {
    expect(parseVerdict('Candidate #2 is best: it shows its work.', 2)).toMatchObject({ choice: 2, by: 'regex' });
    expect(parseVerdict('{"choice": "1", "why": "shorter"}', 2)).toMatchObject({ choice: 1, by: 'regex' });
  });

  it('gives no verdict for a choice outside the candidates, or none at all', () => {
    expect(parseVerdict('{"choice": 4, "reason": "x"}', 3)).toBeUndefined();
    expect(parseVerdict('They are all fine.', 3)).toBeUndefined();
  });
});
