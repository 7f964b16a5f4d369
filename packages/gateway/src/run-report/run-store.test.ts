import { describe, expect, it } from 'vitest';
import type { AgentRunEvent, RunEventBatch } from './run-events';
import { RunStore } from './run-store';

const anonymous = { owner: 'anonymous', name: 'anonymous' };

const toolCall = (seq: number, name = 'read_file'): AgentRunEvent => ({
  type: 'tool-call',
  seq,
  elapsedMs: seq * 10,
  iteration: 1,
  id: `call-${seq}`,
  name,
  arguments: '{}',
});

const agentBatch = (events: AgentRunEvent[], extra: Partial<RunEventBatch> = {}): RunEventBatch =>
  ({ kind: 'agent', events, ...extra }) as RunEventBatch;

describe('RunStore', () => {
  it('keeps at most maxRuns runs, forgetting the one updated longest ago', () => {
    const store = new RunStore({ maxRuns: 2 });
    store.add('a', agentBatch([toolCall(0)]), anonymous);
    store.add('b', agentBatch([toolCall(0)]), anonymous);
    store.add('a', agentBatch([toolCall(1)]), anonymous);
    store.add('c', agentBatch([toolCall(0)]), anonymous);
    expect(store.list().map((run) => run.id)).toEqual(['c', 'a']);
    expect(store.get('b')).toBeUndefined();
  });

  it('keeps at most maxRunsPerOwner runs of one reporter, so that one key cannot push the others’ runs out', () => {
    const store = new RunStore({ maxRuns: 5, maxRunsPerOwner: 2 });
    const ci = { owner: 'key:ci', name: 'ci' };
    store.add('mine', agentBatch([toolCall(0)]), { owner: 'master', name: 'master' });
    store.add('theirs', agentBatch([toolCall(0)]), { owner: 'key:other', name: 'other' });
    for (const id of ['ci-1', 'ci-2', 'ci-3', 'ci-4']) store.add(id, agentBatch([toolCall(0)]), ci);
    expect(store.list().map((run) => run.id)).toEqual(['ci-4', 'ci-3', 'theirs', 'mine']);
    // Beyond the total, the run updated longest ago goes, whoever reported it.
    store.add('other-2', agentBatch([toolCall(0)]), { owner: 'key:other', name: 'other' });
    store.add('other-3', agentBatch([toolCall(0)]), { owner: 'key:third', name: 'third' });
    expect(store.list().map((run) => run.id)).toEqual(['other-3', 'other-2', 'ci-4', 'ci-3', 'theirs']);
    expect(store.size).toBe(5);
  });

  it('counts tools named like Object’s members (__proto__, constructor, toString) as any other tool', () => {
    const store = new RunStore();
    const names = ['__proto__', 'constructor', 'toString', '__proto__', 'hasOwnProperty'];
    store.add('constructor', agentBatch(names.map((name, seq) => toolCall(seq, name))), anonymous);
    const toolCalls = store.get('constructor')?.run.agent?.toolCalls ?? {};
    expect(Object.entries(toolCalls)).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
      ['toString', 1],
      ['hasOwnProperty', 1],
    ]);
    // As the dashboard receives them.
    expect(JSON.stringify(store.list()[0]?.agent?.toolCalls)).toBe(
      '{"__proto__":2,"constructor":1,"toString":1,"hasOwnProperty":1}',
    );
  });

  it('keeps the last maxEventsPerRun events of a run while its totals count every event', () => {
    const store = new RunStore({ maxEventsPerRun: 3 });
    store.add(
      'r',
      agentBatch([0, 1, 2, 3, 4].map((seq) => toolCall(seq, seq % 2 ? 'list_files' : 'read_file'))),
      anonymous,
    );
    const found = store.get('r');
    expect(found?.events.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(found?.run).toMatchObject({
      events: 5,
      elapsedMs: 40,
      agent: { toolCalls: { read_file: 3, list_files: 2 } },
    });
  });

  it('ignores events whose seq the run has seen (a retried batch) and adds the drops the reporter tells', () => {
    const store = new RunStore();
    store.add('r', agentBatch([toolCall(0), toolCall(1)]), anonymous);
    const again = store.add('r', agentBatch([toolCall(1), toolCall(2)], { dropped: 4 }), anonymous);
    expect(again).toMatchObject({ ok: true, duplicates: 1 });
    expect(again.ok && again.accepted.map((e) => e.seq)).toEqual([2]);
    expect(store.get('r')?.run).toMatchObject({ events: 3, dropped: 4, agent: { toolCalls: { read_file: 3 } } });
  });

  it('refuses a batch from another reporter than the run’s, and one of another kind, leaving the run as it was', () => {
    const store = new RunStore();
    store.add('r', agentBatch([toolCall(0)]), { owner: 'key:k1', name: 'ci' });
    expect(store.add('r', agentBatch([toolCall(1)]), { owner: 'key:k2', name: 'other' })).toMatchObject({
      ok: false,
      reason: 'owner',
    });
    const evolution = { kind: 'evolution', events: [{ type: 'stop', seq: 1, elapsedMs: 1, stopReason: 'x' }] };
    expect(store.add('r', evolution as RunEventBatch, { owner: 'key:k1', name: 'ci' })).toMatchObject({
      ok: false,
      reason: 'kind',
    });
    expect(store.get('r')?.run).toMatchObject({ reporter: 'ci', events: 1, status: 'running' });
  });

  it('tracks an evolution’s generation, scores, best, failures and latest arms', () => {
    const store = new RunStore();
    const arms = { rewrite: { pulls: 1, meanReward: 0.5, successes: 1 } };
    const candidate = (seq: number, score: number | null, bestScore: number) => ({
      type: 'candidate',
      seq,
      elapsedMs: seq,
      generation: 1,
      id: `c${seq}`,
      parentId: 'baseline',
      strategy: 'rewrite',
      score,
      bestScore,
      arms,
      tokens: 10,
      costUsd: 0.01,
      ms: 5,
    });
    store.add(
      'e',
      {
        kind: 'evolution',
        events: [
          { type: 'start', seq: 0, elapsedMs: 0, resumed: false, baselineScore: 20, generation: 1, candidates: 1 },
          { type: 'generation', seq: 1, elapsedMs: 0, generation: 1, offspring: 2 },
          candidate(2, 30, 30),
          candidate(3, null, 30),
          { type: 'stop', seq: 4, elapsedMs: 9, stopReason: 'generations' },
        ],
      } as RunEventBatch,
      anonymous,
    );
    expect(store.get('e')?.run).toMatchObject({
      status: 'stopped',
      stopReason: 'generations',
      evolution: {
        generation: 1,
        candidates: 2,
        failures: 1,
        baselineScore: 20,
        bestScore: 30,
        lastScore: null,
        arms,
        tokens: 20,
        scores: [
          { generation: 1, score: 30, best: 30 },
          { generation: 1, score: null, best: 30 },
        ],
      },
    });
  });
});
