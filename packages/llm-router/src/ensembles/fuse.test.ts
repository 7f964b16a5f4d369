import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { models, requestsFor, useEnsembleTestBed } from '../__tests__/ensemble-fixtures';
import { ask, collect } from '../__tests__/router-fixtures';
import { RouterError } from '../errors';

const { fakes, use, answer } = useEnsembleTestBed();

const merged = { members: [models.qwen, models.llama], strategy: 'fuse', fuser: models.minimax };
const fuserRequests = () => requestsFor(fakes.cloud, 'MiniMax-M2');
const tool = (name: string): ToolDefinition => ({
  name,
  description: name,
  parameters: { type: 'object', properties: {} },
});
const tools = [tool('get_weather'), tool('get_time')];
/** Members that can call tools (the fake's llama3.2:1b cannot). */
const withTools = { ...merged, members: [models.qwen, models.mini] };

describe('fuse', () => {
  it('merges the members’ answers with the fuser, which sees the request and every answer', async () => {
    answer(fakes.ollama, {
      'qwen2.5-coder:7b': { text: 'Use a Map for lookups.' },
      'llama3.2:1b': { text: 'Cache the results.' },
    });
    answer(fakes.cloud, { 'MiniMax-M2': { text: 'Use a Map for lookups, and cache the results.' } });
    const response = await use({ merged }).chat({ ...ask('how to speed this up?'), model: 'ensemble/merged' });

    expect(response.content).toBe('Use a Map for lookups, and cache the results.');
    expect(response.ensemble?.decision).toEqual({ strategy: 'fuse', by: 'fuser', candidates: 2 });
    expect(response.ensemble?.judge).toMatchObject({ member: models.minimax, status: 'answered' });
    const prompt = JSON.stringify((fuserRequests()[0]!.body as { messages: unknown }).messages);
    expect(prompt).toContain('how to speed this up?');
    expect(prompt).toContain('Use a Map for lookups.');
    expect(prompt).toContain('Cache the results.');
  });

  it('streams the fuser’s own tokens as they come', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'a' }, 'llama3.2:1b': { text: 'b' } });
    answer(fakes.cloud, { 'MiniMax-M2': { text: 'a and b together' } });
    const { events, text } = await collect(use({ merged }).stream({ ...ask('?'), model: 'ensemble/merged' }));
    expect(text).toBe('a and b together');
    // The fake streams a word a chunk: several deltas, not one replayed text.
    expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(1);
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.ensemble?.decision.strategy).toBe('fuse');
  });

  it('lets the one answer stand without asking the fuser when a member failed', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'status', status: 500 }, 'llama3.2:1b': { text: 'alone' } });
    const response = await use({ merged }).chat({ ...ask('?'), model: 'ensemble/merged' });
    expect(response.content).toBe('alone');
    expect(response.ensemble?.decision).toMatchObject({ by: 'single-candidate', index: 1 });
    expect(fuserRequests()).toHaveLength(0);
  });

  it('keeps the first answer when the streamed fuser fails before its first token', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'first' }, 'llama3.2:1b': { text: 'second' } });
    answer(fakes.cloud, { 'MiniMax-M2': { fault: 'status', status: 500 } });
    const { text, events } = await collect(use({ merged }).stream({ ...ask('?'), model: 'ensemble/merged' }));
    expect(text).toBe('first');
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.ensemble?.decision).toMatchObject({ by: 'fuser-failed' });
  });

  it('ends the stream with STREAM_INTERRUPTED when the fuser breaks off mid-answer', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { text: 'first' }, 'llama3.2:1b': { text: 'second' } });
    answer(fakes.cloud, {
      'MiniMax-M2': { fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four' } },
    });
    const { text, events } = await collect(use({ merged }).stream({ ...ask('?'), model: 'ensemble/merged' }));
    expect(text).toBe('one two ');
    const last = events.at(-1);
    expect(last?.type).toBe('error');
    expect(last?.type === 'error' && last.error.code).toBe('STREAM_INTERRUPTED');
    expect(last?.type === 'error' && last.error.message).toContain('ensemble/merged: the answer of minimax/MiniMax-M2');
  });

  it('streams the first tool-call answer, without a fuser, when no member answered with text', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { fault: 'status', status: 500 } });
    answer(fakes.cloud, { 'gpt-4o-mini': { toolCalls: [{ name: 'get_time', arguments: {} }] } });
    const { events } = await collect(
      use({ merged: withTools }).stream({ ...ask('?'), tools, model: 'ensemble/merged' }),
    );
    expect(events.map((e) => e.type)).toEqual(['tool-call', 'finish']);
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.toolCalls.map((c) => c.name)).toEqual(['get_time']);
    expect(finish?.type === 'finish' && finish.response.ensemble?.decision).toEqual({
      strategy: 'fuse',
      index: 1,
      by: 'tool-calls',
      candidates: 0,
      reason: `no member answered with text to fuse; ${models.mini} (member 2) answered with tool calls only, so its answer stands`,
    });
    expect(fuserRequests()).toHaveLength(0);
  });

  it('fuses only the answers with text when other members answered with tool calls', async () => {
    answer(fakes.ollama, { 'qwen2.5-coder:7b': { toolCalls: [{ name: 'get_weather', arguments: {} }] } });
    answer(fakes.cloud, { 'gpt-4o-mini': { text: 'It is sunny.' } });
    const response = await use({ merged: withTools }).chat({ ...ask('?'), tools, model: 'ensemble/merged' });
    expect(response.content).toBe('It is sunny.');
    expect(response.ensemble?.decision).toMatchObject({ by: 'single-candidate', index: 1, candidates: 1 });
    expect(fuserRequests()).toHaveLength(0);
  });

  it('fails with ENSEMBLE_FAILED when no member answered', async () => {
    answer(fakes.ollama, {
      'qwen2.5-coder:7b': { fault: 'status', status: 500 },
      'llama3.2:1b': { fault: 'status', status: 502 },
    });
    const { thrown } = await collect(use({ merged }).stream({ ...ask('?'), model: 'ensemble/merged' }));
    expect(RouterError.isInstance(thrown) && thrown.code).toBe('ENSEMBLE_FAILED');
    expect((thrown as RouterError).message).toContain('no member gave an answer to fuse');
  });
});
