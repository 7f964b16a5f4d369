import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listening } from '@unity/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { baselineSource, evaluatorFolder, scriptedCoder } from './__tests__/test-helpers';
import { commandEvaluator } from './command-evaluator';
import { EvolutionError } from './errors';
import type { LogLine } from './evolution-log';
import { evolve } from './evolve';
import { startEvolveWorker } from './evolve-worker';
import { createRemoteEvaluator } from './remote-evaluator';

const redisUrl = process.env.UNITY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const repoRoot = new URL('../../../', import.meta.url).pathname;

const redisUp = await listening(redisUrl, 6379);
if (!redisUp) console.warn(`distributed.test.ts: skipping the Redis tests: nothing listens at ${redisUrl}`);

interface WorkerProcess {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  ready: Promise<void>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function startWorker(queue: string): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@unity/source',
      '--import',
      'tsx',
      new URL('./__tests__/fixtures/run-worker.ts', import.meta.url).pathname,
      redisUrl,
      queue,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  let buffer = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        if (event.type === 'ready') resolve();
      }
    });
  });
  return { child, events, ready };
}

const queueName = () => `unity-test-${process.pid}-${Date.now()}`;
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogLine);

describe.skipIf(!redisUp)('distributed evaluation on BullMQ (Redis)', () => {
  it('finishes the run when one of two workers is SIGKILLed mid-job, counting each candidate once', async () => {
    const queue = queueName();
    const [a, b] = [startWorker(queue), startWorker(queue)] as [WorkerProcess, WorkerProcess];
    await Promise.all([a.ready, b.ready]);
    const { dir, script } = evaluatorFolder({ delayMs: 1500 });
    const spec = commandEvaluator({ command: 'node eval.mjs', files: { 'eval.mjs': script } }).spec;
    const remote = await createRemoteEvaluator(spec as NonNullable<typeof spec>, {
      url: redisUrl,
      queue,
      runId: 'kill',
    });
    let killed: string | undefined;
    const watch = setInterval(() => {
      const started = a.events.find((e) => e.type === 'job-start' && e.candidateId !== 'baseline');
      if (started && !killed) {
        killed = started.candidateId as string;
        a.child.kill('SIGKILL');
      }
    }, 20);
    try {
      const logFile = join(dir, 'evolution.jsonl');
      const result = await evolve({
        baseline: baselineSource,
        fileName: 'candidate.mjs',
        evaluator: remote,
        coder: scriptedCoder(),
        generations: 2,
        concurrency: 2,
        seed: 11,
        logFile,
      });
      const log = lines(logFile);
      expect(killed).toBeDefined();
      expect(log.map((l) => l.candidate_id)).toEqual(['baseline', '1-0', '1-1', '2-0', '2-1']);
      expect(log.every((l) => l.score !== null)).toBe(true);
      expect(b.events.some((e) => e.type === 'job-done' && e.candidateId === killed)).toBe(true);
      expect(a.events.some((e) => e.type === 'job-done' && e.candidateId === killed)).toBe(false);
      expect(result.candidates).toBe(5);
    } finally {
      clearInterval(watch);
      await remote.close();
    }
  }, 60_000);

  it('evaluates a candidate id once per run: asking again returns the first result without a new job', async () => {
    const queue = queueName();
    const worker = startWorker(queue);
    await worker.ready;
    const spec = commandEvaluator({ command: 'node -e "console.log(Math.random() * 100)" #' }).spec;
    const remote = await createRemoteEvaluator(spec as NonNullable<typeof spec>, {
      url: redisUrl,
      queue,
      runId: 'once',
    });
    try {
      const first = await remote.evaluate('x', { candidateId: '1-0', fileName: 'c.txt' });
      const second = await remote.evaluate('y', { candidateId: '1-0', fileName: 'c.txt' });
      expect(second).toEqual(first);
      expect(worker.events.filter((e) => e.type === 'job-start')).toHaveLength(1);
    } finally {
      await remote.close();
    }
  });

  it('returns an evaluator failure on a worker as a failed candidate, not a failed job', async () => {
    const queue = queueName();
    const worker = startWorker(queue);
    await worker.ready;
    const spec = commandEvaluator({ command: 'echo oops >&2; exit 2 #' }).spec;
    const remote = await createRemoteEvaluator(spec as NonNullable<typeof spec>, {
      url: redisUrl,
      queue,
      runId: 'fail',
    });
    try {
      const error = await remote.evaluate('x', { candidateId: '1-0', fileName: 'c.txt' }).catch((e) => e);
      expect(EvolutionError.isInstance(error) && error.code).toBe('EVALUATION_FAILED');
      expect(error.message).toContain('oops');
      expect(error.message).toContain('on a worker');
    } finally {
      await remote.close();
    }
  });
});

describe('distributed evaluation without Redis', () => {
  it('fails with QUEUE_FAILED naming the URL and the timeout when Redis is unreachable', async () => {
    const spec = { kind: 'command' as const, command: 'true' };
    const error = await createRemoteEvaluator(spec, {
      url: 'redis://127.0.0.1:1',
      runId: 'x',
      connectTimeoutMs: 500,
    }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('QUEUE_FAILED');
    expect(error.message).toContain('redis://127.0.0.1:1');
    expect(error.message).toContain('connectTimeoutMs');
  });

  it('fails a worker with QUEUE_FAILED when Redis is unreachable', async () => {
    const error = await startEvolveWorker({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('QUEUE_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('rejects a URL that is not redis:// with the fix', async () => {
    const error = await createRemoteEvaluator(
      { kind: 'command', command: 'true' },
      { url: 'http://x', runId: 'x' },
    ).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('INVALID_OPTIONS');
    expect(error.fix).toContain('redis://host:6379');
  });
});
