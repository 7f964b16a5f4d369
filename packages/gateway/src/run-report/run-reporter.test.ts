// RunReporter against a real gateway (the test harness: the real router behind it, the test kit's fakes in front of
// the providers), fed by a real agent run (runAgent over a router whose cloud is the fake OpenAI server, answering with
// tool calls) and a real evolution run (evolve, its coder the same fake), and against a refused port.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type AgentEvent, type AgentToolExecutor, runAgent } from '@unity/convergence';
import { createRouter, parseConfig, type Router } from '@unity/llm-router';
import { freePort } from '@unity/test-kit';
import { evolve, functionEvaluator } from '@unity/textgrad';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';
import { RunReporter, type RunReporterEvent } from './run-reporter';
import type { RunSummary, StoredRunEvent } from './run-store';

let h: Harness;
let router: Router;

beforeAll(async () => {
  h = await startHarness();
  const config = parseConfig(await readFile(h.configPath, 'utf8'), h.configPath);
  router = createRouter({ config, env: { TEST_CLOUD_KEY: 'sk-test' } });
}, 30_000);
afterAll(async () => {
  await router?.close();
  await h?.close();
});
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

/** Two tools that always work: what the agent's tool calls need, without a file system. */
const tools: AgentToolExecutor = {
  definitions: () => [
    {
      name: 'read_file',
      description: 'read a file',
      parameters: { type: 'object', properties: { path: { type: 'string' } } },
    },
    { name: 'list_files', description: 'list files', parameters: { type: 'object', properties: {} } },
  ],
  execute: async (calls) =>
    calls.map((call) => ({ toolCallId: call.id, name: call.name, ok: true, content: `${call.name} done` })),
};

const readNotes = (path: string) => ({ toolCalls: [{ name: 'read_file', arguments: { path } }] });

async function runOf(id: string): Promise<{ run: RunSummary; events: StoredRunEvent[] }> {
  const response = await fetch(`${h.url}/api/runs/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { run: RunSummary; events: StoredRunEvent[] };
}

/** Collects what /ws sends from now on. */
async function watch(): Promise<{ events: Array<Record<string, unknown>>; close(): void }> {
  const socket = new WebSocket(`${h.url.replace('http', 'ws')}/ws`);
  const events: Array<Record<string, unknown>> = [];
  socket.onmessage = (message) => events.push(JSON.parse(String(message.data)));
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error('the WebSocket did not open'));
  });
  return { events, close: () => socket.close() };
}

describe('RunReporter with a real agent run', () => {
  it('shows the steps, tool calls and reminders on the gateway, live on /ws and in GET /api/runs/:id', async () => {
    h.cloud.enqueue(
      readNotes('a.txt'),
      readNotes('b.txt'),
      { toolCalls: [{ name: 'list_files', arguments: {} }] },
      {
        text: 'The notes say 42.',
      },
    );
    const live = await watch();
    const warnings: RunReporterEvent[] = [];
    const reporter = new RunReporter({
      url: h.url,
      kind: 'agent',
      title: 'What do the notes say?',
      onEvent: (event) => warnings.push(event),
    });
    const result = await runAgent({
      model: router,
      tools,
      task: 'What do the notes say?',
      convergenceWarnings: [2],
      onEvent: reporter.report,
    });
    const delivered = await reporter.close();
    expect(result.stopReason).toBe('completed');
    expect(delivered).toMatchObject({ runId: reporter.runId, dropped: 0 });
    expect(delivered.sent).toBeGreaterThanOrEqual(9);
    expect(warnings).toEqual([]);

    const { run, events } = await runOf(reporter.runId);
    expect(run).toMatchObject({
      id: reporter.runId,
      kind: 'agent',
      title: 'What do the notes say?',
      reporter: 'anonymous',
      status: 'stopped',
      stopReason: 'completed',
      events: delivered.sent,
      dropped: 0,
      agent: {
        steps: 4,
        toolCalls: { read_file: 2, list_files: 1 },
        failedToolCalls: 0,
        reminders: 1,
        lastReminder: 'consider wrapping up',
      },
    });
    expect(run.agent?.model).toBe('MiniMax-M2');
    expect(events.map((e) => e.type)).toEqual([
      'step',
      'tool-call',
      'tool-result',
      'step',
      'tool-call',
      'tool-result',
      'reminder',
      'step',
      'tool-call',
      'tool-result',
      'step',
      'stop',
    ]);
    expect(events.find((e) => e.type === 'tool-call')).toMatchObject({
      name: 'read_file',
      arguments: '{"path":"a.txt"}',
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));

    await expect.poll(() => live.events.filter((e) => e.type === 'run.update').length).toBeGreaterThan(0);
    live.close();
    const calls = live.events.filter((e) => e.type === 'run.agent.tool-call');
    expect(calls.map((e) => [e.runId, e.name])).toEqual([
      [reporter.runId, 'read_file'],
      [reporter.runId, 'read_file'],
      [reporter.runId, 'list_files'],
    ]);
    expect(live.events.some((e) => e.type === 'run.agent.reminder' && e.level === 'consider wrapping up')).toBe(true);
    const last = live.events.filter((e) => e.type === 'run.update').at(-1) as { run: RunSummary };
    expect(last.run).toMatchObject({ id: reporter.runId, status: 'stopped' });
  });

  it('lists the run in GET /api/runs, most recently updated first', async () => {
    h.cloud.enqueue({ text: 'first' }, { text: 'second' });
    const ids: string[] = [];
    for (const task of ['first task', 'second task']) {
      const reporter = new RunReporter({ url: `${h.url}/`, kind: 'agent', title: task });
      await runAgent({ model: router, tools, task, onEvent: reporter.report });
      await reporter.close();
      ids.push(reporter.runId);
    }
    const { runs } = (await (await fetch(`${h.url}/api/runs`)).json()) as { runs: RunSummary[] };
    const mine = runs.filter((run) => ids.includes(run.id));
    expect(mine.map((run) => run.title)).toEqual(['second task', 'first task']);
  });
});

/** The coder's stand-in: moves `value` by a step derived from a hash of the request (so it can get worse too). */
function coderReply(body: Record<string, unknown>): string {
  const messages = body.messages as Array<{ role: string; content: string }>;
  const prompt = messages.at(-1)?.content ?? '';
  if ((messages[0]?.content ?? '').includes('critic')) return 'Move value closer to 42.';
  const current = Number(/value = (-?\d+)/.exec(prompt)?.[1] ?? '0');
  const next = current + ((createHash('sha256').update(JSON.stringify(body)).digest()[0] as number) % 15) - 4;
  if (prompt.includes('<<<<<<< SEARCH')) {
    return `<<<<<<< SEARCH\nvalue = ${current}\n=======\nvalue = ${next}\n>>>>>>> REPLACE`;
  }
  return `\`\`\`\nvalue = ${next}\n\`\`\``;
}

describe('RunReporter with a real evolution run', () => {
  it('shows the generations, scores and bandit arms on the gateway', async () => {
    h.cloud.setDefault((request) => ({ text: coderReply(request.body) }));
    const reporter = new RunReporter({ url: h.url, kind: 'evolution', title: 'value.txt' });
    const result = await evolve({
      baseline: 'value = 10\n',
      evaluator: functionEvaluator('distance', (source) => {
        const value = Number(/value = (-?\d+)/.exec(source)?.[1] ?? Number.NaN);
        return { score: Number.isFinite(value) ? Math.max(0, 100 - Math.abs(value - 42) * 2) : 0 };
      }),
      coder: { chat: (request) => router.chat({ ...request, role: 'coding' }) },
      generations: 3,
      concurrency: 2,
      seed: 7,
      onEvent: reporter.report,
    });
    const delivered = await reporter.close();
    expect(delivered.dropped).toBe(0);

    const { run, events } = await runOf(reporter.runId);
    expect(run).toMatchObject({
      kind: 'evolution',
      title: 'value.txt',
      status: 'stopped',
      stopReason: result.stopReason,
      evolution: {
        generation: 3,
        candidates: result.candidates,
        failures: result.failures,
        baselineScore: result.baseline.score,
        bestScore: result.best.score,
      },
    });
    const evolution = run.evolution;
    expect(evolution?.scores).toHaveLength(result.candidates);
    expect(Object.keys(evolution?.arms ?? {}).sort()).toEqual(Object.keys(result.strategies).sort());
    const pulls = Object.values(evolution?.arms ?? {}).reduce((sum, arm) => sum + arm.pulls, 0);
    expect(pulls).toBe(Object.values(result.strategies).reduce((sum, arm) => sum + arm.pulls, 0));
    expect(events.filter((e) => e.type === 'generation').map((e) => (e as { generation: number }).generation)).toEqual([
      1, 2, 3,
    ]);
    expect(events[0]).toMatchObject({ type: 'candidate', id: 'baseline', score: result.baseline.score });
    expect(events[1]).toMatchObject({ type: 'start', baselineScore: result.baseline.score });
  });
});

describe('RunReporter when the gateway is away or refuses', () => {
  it('lets the run finish when nothing listens on the port: one warning, the events dropped, close() at once', async () => {
    const port = await freePort();
    h.cloud.enqueue(readNotes('a.txt'), { text: 'done' });
    const warnings: RunReporterEvent[] = [];
    const reporter = new RunReporter({
      url: `http://127.0.0.1:${port}`,
      kind: 'agent',
      flushIntervalMs: 0,
      onEvent: (event) => warnings.push(event),
    });
    const events: AgentEvent[] = [];
    const result = await runAgent({
      model: router,
      tools,
      task: 'read it',
      onEvent: (event) => {
        events.push(event);
        reporter.report(event);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const delivered = await reporter.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.stopReason).toBe('completed');
    expect(delivered.sent).toBe(0);
    expect(delivered.dropped).toBe(events.filter((e) => e.type !== 'model-call').length);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ type: 'warning', code: 'GATEWAY_UNREACHABLE' });
    expect(warnings[0]?.message).toContain(`127.0.0.1:${port}`);
    expect(warnings[0]?.message).toContain('ECONNREFUSED');
  });

  it('holds events while the gateway is away and delivers them, once each, when it answers again', async () => {
    let failures = 1;
    const flaky: typeof fetch = async (input, init) => {
      if (failures-- > 0) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      return fetch(input, init);
    };
    const warnings: RunReporterEvent[] = [];
    const reporter = new RunReporter({
      url: h.url,
      kind: 'evolution',
      fetch: flaky,
      flushIntervalMs: 0,
      retryDelayMs: 20,
      onEvent: (event) => warnings.push(event),
    });
    reporter.report({ type: 'start', resumed: false, baselineScore: 10, generation: 1, candidates: 1 });
    await expect.poll(() => warnings.length).toBe(1);
    reporter.report({ type: 'generation', generation: 1, offspring: 1 });
    await expect.poll(() => reporter.counts.sent, { timeout: 5000 }).toBe(2);
    reporter.report({ type: 'stop', reason: 'generations' });
    const delivered = await reporter.close();
    expect(delivered).toMatchObject({ sent: 3, dropped: 0 });
    const { run, events } = await runOf(reporter.runId);
    expect(events.map((e) => e.type)).toEqual(['start', 'generation', 'stop']);
    expect(run).toMatchObject({ events: 3, status: 'stopped', stopReason: 'generations' });
  });

  it('keeps at most maxQueuedEvents while the gateway is away, dropping the oldest and telling the gateway', async () => {
    let away = true;
    const gated: typeof fetch = async (input, init) => {
      if (away) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return fetch(input, init);
    };
    const reporter = new RunReporter({
      url: h.url,
      kind: 'evolution',
      fetch: gated,
      flushIntervalMs: 0,
      retryDelayMs: 50,
      maxQueuedEvents: 3,
    });
    reporter.report({ type: 'generation', generation: 1, offspring: 1 });
    await expect.poll(() => reporter.counts.queued).toBe(1);
    for (let generation = 2; generation <= 6; generation++)
      reporter.report({ type: 'generation', generation, offspring: 1 });
    expect(reporter.counts).toMatchObject({ queued: 3, dropped: 3 });
    away = false;
    await expect.poll(() => reporter.counts.sent, { timeout: 5000 }).toBe(3);
    await reporter.close();
    const { run, events } = await runOf(reporter.runId);
    expect(events.map((e) => (e as { generation: number }).generation)).toEqual([4, 5, 6]);
    expect(run.dropped).toBe(3);
  });

  it('stops reporting, with one warning and the fix, when the gateway refuses the key', async () => {
    const keyed = await startHarness({ env: { UNITY_API_KEY: 'the-master-key' } });
    try {
      let requests = 0;
      const counting: typeof fetch = (input, init) => {
        requests += 1;
        return fetch(input, init);
      };
      const warnings: RunReporterEvent[] = [];
      const reporter = new RunReporter({
        url: keyed.url,
        apiKey: 'not-the-key',
        kind: 'evolution',
        flushIntervalMs: 0,
        fetch: counting,
        onEvent: (event) => warnings.push(event),
      });
      reporter.report({ type: 'generation', generation: 1, offspring: 1 });
      await expect.poll(() => warnings.length).toBe(1);
      reporter.report({ type: 'generation', generation: 2, offspring: 1 });
      expect(await reporter.close()).toMatchObject({ sent: 0, dropped: 2 });
      expect(requests).toBe(1);
      expect(warnings[0]).toMatchObject({ code: 'GATEWAY_REFUSED' });
      expect(warnings[0]?.message).toContain('401');
      expect(warnings[0]?.fix).toContain('report.api_key_env');

      const good = new RunReporter({ url: keyed.url, apiKey: 'the-master-key', kind: 'evolution' });
      good.report({ type: 'generation', generation: 1, offspring: 1 });
      expect(await good.close()).toMatchObject({ sent: 1, dropped: 0 });
      const listed = await fetch(`${keyed.url}/api/runs`, { headers: { authorization: 'Bearer the-master-key' } });
      const { runs } = (await listed.json()) as { runs: RunSummary[] };
      expect(runs.map((run) => [run.id, run.reporter])).toEqual([[good.runId, 'master']]);
    } finally {
      await keyed.close();
    }
  });

  it('never repeats the credentials of its URL: not in runUrl, nor in its warning', async () => {
    const port = await freePort();
    const warnings: RunReporterEvent[] = [];
    const reporter = new RunReporter({
      url: `http://ci:pa55word-in-url@127.0.0.1:${port}`,
      kind: 'evolution',
      runId: 'r1',
      flushIntervalMs: 0,
      onEvent: (event) => warnings.push(event),
    });
    reporter.report({ type: 'generation', generation: 1, offspring: 1 });
    await expect.poll(() => warnings.length).toBe(1);
    const delivered = await reporter.close();
    expect(reporter.runUrl).toBe(`http://ci:[redacted]@127.0.0.1:${port}/api/runs/r1`);
    expect(delivered.runUrl).toBe(reporter.runUrl);
    expect(warnings[0]?.message).toContain(`http://ci:[redacted]@127.0.0.1:${port}/api/runs/r1/events`);
    expect(JSON.stringify(warnings)).not.toContain('pa55word-in-url');
    expect(() => new RunReporter({ url: 'ftp://ci:pa55word-in-url@host', kind: 'agent' })).toThrow(
      /^cannot report runs to "ftp:\/\/ci:\[redacted\]@host"/,
    );
  });

  it('refuses an address that is not http(s) and a run id the gateway would refuse, naming the fix', () => {
    expect(() => new RunReporter({ url: 'localhost:8787', kind: 'agent' })).toThrow(
      /expected the gateway's http\(s\) address/,
    );
    expect(() => new RunReporter({ url: 'http://127.0.0.1:8787', kind: 'agent', runId: '../admin' })).toThrow(
      /run id "\.\.\/admin"/,
    );
  });
});
