import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatModel } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { baselineSource, evaluatorFolder, noCoder, reply, scriptedCoder } from './__tests__/test-helpers';
import { Cassette } from './cassette';
import { commandEvaluator } from './command-evaluator';
import { EvolutionError } from './errors';
import { combineEvaluators, functionEvaluator } from './evaluator';
import type { LogLine } from './evolution-log';
import { type EvolutionEvent, type EvolveOptions, evolve } from './evolve';
import { judgeEvaluator } from './judge-evaluator';
import { diffStrategy, rewriteStrategy } from './strategies';

const repoRoot = new URL('../../../', import.meta.url).pathname;
/** The sandbox starts from an empty environment: give it PATH so `node` is found wherever it is installed. */
const pathEnv = { PATH: process.env.PATH };

function readLines(path: string): LogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LogLine);
}

/** A log line without the fields that legitimately differ between two runs (wall clock). */
function stable(line: LogLine) {
  const { ts: _ts, ms: _ms, ...rest } = line;
  return rest;
}

function baseOptions(dir: string, script: string, extra: Partial<EvolveOptions> = {}): EvolveOptions {
  return {
    baseline: baselineSource,
    fileName: 'candidate.mjs',
    evaluator: commandEvaluator({
      command: 'node eval.mjs',
      files: { 'eval.mjs': script },
      timeoutMs: 20_000,
      env: pathEnv,
    }),
    coder: scriptedCoder({ brokenDiffs: 0.3 }),
    seed: 7,
    generations: 6,
    concurrency: 2,
    logFile: join(dir, 'evolution.jsonl'),
    ...extra,
  };
}

describe('evolve', () => {
  it('writes one line per candidate with exactly the documented fields', async () => {
    const { dir, script } = evaluatorFolder();
    const result = await evolve(baseOptions(dir, script, { generations: 3 }));
    const lines = readLines(join(dir, 'evolution.jsonl'));
    expect(lines).toHaveLength(1 + 3 * 2);
    expect(result.candidates).toBe(lines.length);
    const fields = [
      'ts',
      'generation',
      'candidate_id',
      'parent_id',
      'strategy',
      'score',
      'delta',
      'best_score',
      'bandit',
      'tokens',
      'cost_usd',
      'ms',
    ];
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual((line.score === null ? [...fields, 'error'] : fields).sort());
      expect(Object.keys(line.bandit).sort()).toEqual(['crossover', 'diff', 'gradient', 'rewrite', 'simplify']);
    }
    expect(lines[0]).toMatchObject({ candidate_id: 'baseline', generation: 0, score: 36, delta: 0, parent_id: null });
  });

  it('never lets the best score get worse, though many variants are worse than their parents', async () => {
    const { dir, script } = evaluatorFolder();
    const result = await evolve(baseOptions(dir, script, { generations: 12 }));
    const lines = readLines(join(dir, 'evolution.jsonl'));
    const bests = lines.map((l) => l.best_score);
    for (let i = 1; i < bests.length; i++) expect(bests[i]).toBeGreaterThanOrEqual(bests[i - 1] as number);
    const scores = new Map(lines.map((l) => [l.candidate_id, l.score]));
    const worse = lines.filter((l) => l.score !== null && l.score < (scores.get(l.parent_id ?? '') ?? 0));
    expect(worse.length).toBeGreaterThan(0);
    expect(result.best.score).toBe(Math.max(...lines.map((l) => l.score ?? 0)));
    expect(result.best.score).toBeGreaterThan(result.baseline.score);
    expect(result.delta).toBe(result.best.score - 36);
  });

  it('counts a SEARCH/REPLACE reply that does not apply as a failed pull with reward 0, and goes on', async () => {
    const { dir, script } = evaluatorFolder();
    const result = await evolve(
      baseOptions(dir, script, {
        coder: scriptedCoder({ brokenDiffs: 1 }),
        strategies: [diffStrategy, rewriteStrategy],
      }),
    );
    const lines = readLines(join(dir, 'evolution.jsonl'));
    const diffs = lines.filter((l) => l.strategy === 'diff');
    expect(diffs.length).toBeGreaterThan(0);
    for (const line of diffs) {
      expect(line.score).toBeNull();
      expect(line.delta).toBeNull();
      expect(line.error).toContain('does not apply');
    }
    expect(result.strategies.diff).toMatchObject({ meanReward: 0, successes: 0 });
    expect(result.strategies.diff?.pulls).toBe(diffs.length);
    expect(result.stopReason).toBe('generations');
    expect(lines.at(-1)?.generation).toBe(6);
  });

  it('reproduces the same log from the same seed and cassette, without calling a model', async () => {
    const { dir, script } = evaluatorFolder();
    const cassette = join(dir, 'coder.cassette.jsonl');
    const recording = scriptedCoder({ brokenDiffs: 0.3 });
    await evolve(baseOptions(dir, script, { coder: recording, cassette: { mode: 'record', path: cassette } }));
    await evolve(
      baseOptions(dir, script, {
        coder: noCoder,
        cassette: { mode: 'replay', path: cassette },
        logFile: join(dir, 'replayed.jsonl'),
      }),
    );
    const recorded = readLines(join(dir, 'evolution.jsonl')).map(stable);
    expect(recording.requests.length).toBeGreaterThan(10);
    expect(readLines(join(dir, 'replayed.jsonl')).map(stable)).toEqual(recorded);
  });

  it('fails the run with CASSETTE_MISS when the replay lacks a reply', async () => {
    const { dir, script } = evaluatorFolder();
    const cassette = join(dir, 'coder.cassette.jsonl');
    await evolve(baseOptions(dir, script, { generations: 1, cassette: { mode: 'record', path: cassette } }));
    const error = await evolve(
      baseOptions(dir, script, {
        seed: 8,
        coder: noCoder,
        cassette: { mode: 'replay', path: cassette },
        logFile: undefined,
      }),
    ).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('CASSETTE_MISS');
  });

  it('resumes after kill -9 of the process running it and ends with the log an uninterrupted run writes', async () => {
    const { dir, script } = evaluatorFolder();
    const cassette = join(dir, 'coder.cassette.jsonl');
    const generations = 8;
    await evolve(baseOptions(dir, script, { generations, cassette: { mode: 'record', path: cassette } }));
    const reference = readLines(join(dir, 'evolution.jsonl')).map(stable);

    const slow = evaluatorFolder({ delayMs: 150 });
    const logFile = join(dir, 'killed.jsonl');
    const child = spawn(
      process.execPath,
      [
        '--conditions=@unity/source',
        '--import',
        'tsx',
        new URL('./__tests__/fixtures/run-evolve.ts', import.meta.url).pathname,
        JSON.stringify({
          baseline: baselineSource,
          script: slow.script,
          logFile,
          cassette,
          generations,
          concurrency: 2,
          seed: 7,
        }),
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      child.on('exit', () => reject(new Error('the run ended before it was killed')));
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk
          .toString()
          .split('\n')
          .filter((l) => l.startsWith('candidate')).length;
        if (seen >= 6) {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          child.on('exit', () => resolve());
        }
      });
    });
    const survived = readLines(logFile);
    expect(survived.length).toBeGreaterThanOrEqual(6);
    expect(survived.length).toBeLessThan(reference.length);

    const events: EvolutionEvent[] = [];
    const result = await evolve(
      baseOptions(dir, script, {
        generations,
        coder: noCoder,
        cassette: { mode: 'replay', path: cassette },
        logFile,
        onEvent: (e) => events.push(e),
      }),
    );
    expect(result.resumed).toBe(true);
    expect(events[0]).toMatchObject({ type: 'start', resumed: true, candidates: survived.length });
    expect(readLines(logFile).map(stable)).toEqual(reference);
  });

  it('ignores a torn last line when resuming and continues on a clean line', async () => {
    const { dir, script } = evaluatorFolder();
    const logFile = join(dir, 'evolution.jsonl');
    await evolve(baseOptions(dir, script, { generations: 2 }));
    const before = readLines(logFile);
    writeFileSync(logFile, `${readFileSync(logFile, 'utf8')}{"ts":"2026-`, { flag: 'w' });
    const result = await evolve(baseOptions(dir, script, { generations: 3 }));
    const after = readLines(logFile);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 2);
    expect(result.generations).toBe(3);
  });

  it('refuses to resume a log whose run evolved another file', async () => {
    const { dir, script } = evaluatorFolder();
    await evolve(baseOptions(dir, script, { generations: 1 }));
    const error = await evolve(baseOptions(dir, script, { baseline: 'export const value = 99;\n' })).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('FILE_INVALID');
    expect(error.message).toContain('belongs to another run');
    const fresh = await evolve(
      baseOptions(dir, script, { baseline: 'export const value = 99;\n', resume: false, generations: 1 }),
    );
    expect(fresh.resumed).toBe(false);
    expect(fresh.baseline.score).toBe(0);
  });

  it('ends after the current generation when the stop file appears, with the best so far', async () => {
    const { dir, script } = evaluatorFolder();
    const stopFile = join(dir, 'STOP');
    const result = await evolve(
      baseOptions(dir, script, {
        generations: 50,
        stopFile,
        onEvent: (e) => {
          if (e.type === 'generation' && e.generation === 3) writeFileSync(stopFile, '');
        },
      }),
    );
    expect(result.stopReason).toBe('stop-file');
    expect(result.generations).toBe(3);
    expect(readLines(join(dir, 'evolution.jsonl'))).toHaveLength(1 + 3 * 2);
    expect(result.best.score).toBeGreaterThanOrEqual(result.baseline.score);
  });

  it('rejects with ABORTED when aborted while the baseline is being scored, killing its evaluator', async () => {
    const { dir, script } = evaluatorFolder({ delayMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const error = await evolve(
      baseOptions(dir, script, {
        evaluator: commandEvaluator({
          command: 'node eval.mjs',
          files: { 'eval.mjs': script },
          timeoutMs: 120_000,
          env: pathEnv,
        }),
        signal: controller.signal,
      }),
    ).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('ABORTED');
  });

  it('returns the best so far when aborted during a generation', async () => {
    const { dir, script } = evaluatorFolder();
    const slow = evaluatorFolder({ delayMs: 60_000 });
    await evolve(baseOptions(dir, script, { generations: 2 }));
    const controller = new AbortController();
    const result = await evolve(
      baseOptions(dir, script, {
        generations: 5,
        evaluator: commandEvaluator({
          command: 'node eval.mjs',
          files: { 'eval.mjs': slow.script },
          timeoutMs: 120_000,
          env: pathEnv,
        }),
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'generation') setTimeout(() => controller.abort(), 300);
        },
      }),
    );
    expect(result.stopReason).toBe('aborted');
    expect(result.generations).toBe(2);
    expect(readLines(join(dir, 'evolution.jsonl'))).toHaveLength(1 + 2 * 2);
    expect(result.best.score).toBeGreaterThanOrEqual(result.baseline.score);
  });

  it('stops at the wall-time budget, dropping the candidates in flight and keeping the best so far', async () => {
    const { dir, script } = evaluatorFolder({ delayMs: 300 });
    const result = await evolve(baseOptions(dir, script, { generations: 100, budget: { maxWallTimeMs: 2500 } }));
    expect(result.stopReason).toBe('budget_time');
    expect(result.generations).toBeLessThan(100);
    const lines = readLines(join(dir, 'evolution.jsonl'));
    expect(lines.filter((l) => l.generation <= result.generations)).toHaveLength(1 + result.generations * 2);
    expect(lines.length).toBeLessThan(1 + (result.generations + 1) * 2);
    expect(result.best.score).toBeGreaterThanOrEqual(result.baseline.score);
  });

  it('stops when the token budget is spent', async () => {
    const { dir, script } = evaluatorFolder();
    const result = await evolve(baseOptions(dir, script, { generations: 50, budget: { maxTotalTokens: 1000 } }));
    expect(result.stopReason).toBe('budget_tokens');
    expect(result.tokens).toBeGreaterThanOrEqual(1000);
    expect(result.tokens).toBeLessThan(1000 + 4 * 240);
  });

  it("stops when the cost budget is spent, pricing coder calls with the budget's prices", async () => {
    const { dir, script } = evaluatorFolder();
    const prices = { '*': { inputPer1k: 0.01, outputPer1k: 0.01 } };
    const result = await evolve(baseOptions(dir, script, { generations: 50, budget: { maxCostUsd: 0.01, prices } }));
    expect(result.stopReason).toBe('budget_cost');
    expect(result.costUsd).toBeGreaterThanOrEqual(0.01);
  });

  it('rejects a cost budget without prices, naming the fix', async () => {
    const { dir, script } = evaluatorFolder();
    const error = await evolve(baseOptions(dir, script, { budget: { maxCostUsd: 0.01 } })).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('options.budget.maxCostUsd is set but budget.prices is not');
    expect(error.fix).toContain('add budget.prices');
  });

  it('rejects a budget key that is not a limit, such as an earlier name', async () => {
    const { dir, script } = evaluatorFolder();
    const error = await evolve(baseOptions(dir, script, { budget: { tokens: 1000 } as never })).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('evolve options.budget.tokens: expected a key of RunBudget');
  });

  it('stops when the target score is reached', async () => {
    const { dir, script } = evaluatorFolder();
    const result = await evolve(baseOptions(dir, script, { generations: 200, targetScore: 60 }));
    expect(result.stopReason).toBe('target');
    expect(result.best.score).toBeGreaterThanOrEqual(60);
  });

  it('warns of reward hacking when the holdout disagrees with the evaluator on a new best', async () => {
    const { dir, script } = evaluatorFolder();
    const events: EvolutionEvent[] = [];
    const result = await evolve(
      baseOptions(dir, script, {
        holdout: functionEvaluator('holdout', () => ({ score: 5 })),
        holdoutThreshold: 20,
        onEvent: (e) => events.push(e),
      }),
    );
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings.length).toBeGreaterThan(0);
    expect(result.warnings[0]).toContain('reward hacking');
    const holdouts = events.filter((e) => e.type === 'holdout');
    expect(holdouts.length).toBe(events.filter((e) => e.type === 'best').length);
  });

  it('scores with an LLM judge whose replies are replayed from the cassette', async () => {
    const { dir } = evaluatorFolder();
    const cassettePath = join(dir, 'judge.cassette.jsonl');
    const judgeModel: ChatModel = {
      async chat(request) {
        const value = Number(/value = (-?\d+)/.exec(request.messages.at(-1)?.content ?? '')?.[1]);
        return reply(JSON.stringify({ score: Math.max(0, 100 - Math.abs(value - 42)), feedback: 'closer to 42' }));
      },
    };
    const run = async (mode: 'record' | 'replay', logFile: string) => {
      const cassette = Cassette.open({ mode, path: cassettePath });
      return evolve({
        baseline: baselineSource,
        evaluator: judgeEvaluator({ model: cassette.wrap(judgeModel, 'judge'), rubric: 'value should be 42' }),
        coder: mode === 'record' ? scriptedCoder() : noCoder,
        cassette,
        generations: 4,
        seed: 3,
        logFile,
      });
    };
    const recorded = await run('record', join(dir, 'a.jsonl'));
    const replayed = await run('replay', join(dir, 'b.jsonl'));
    expect(replayed.best).toEqual(recorded.best);
    expect(readLines(join(dir, 'b.jsonl')).map(stable)).toEqual(readLines(join(dir, 'a.jsonl')).map(stable));
    expect(recorded.tokens).toBe(replayed.tokens);
  });

  it('logs each part’s score of a combined evaluator, and keeps the best’s parts across a resume', async () => {
    const { dir } = evaluatorFolder();
    const numberIn = (source: string) => Number(/value = (-?\d+)/.exec(source)?.[1]);
    const evaluator = combineEvaluators([
      {
        evaluator: functionEvaluator('distance', (s) => ({ score: Math.max(0, 100 - Math.abs(numberIn(s) - 42)) })),
        weight: 1,
        name: 'eval',
      },
      { evaluator: functionEvaluator('judge', () => ({ score: 50, feedback: 'ok' })), weight: 1 },
    ]);
    const logFile = join(dir, 'parts.jsonl');
    const first = await evolve({
      baseline: baselineSource,
      evaluator,
      coder: scriptedCoder(),
      generations: 2,
      seed: 3,
      logFile,
    });
    const lines = readLines(logFile);
    expect(lines[0]?.parts).toEqual({ eval: 68, judge: 50 });
    for (const line of lines.filter((l) => l.score !== null)) {
      expect(line.score).toBeCloseTo(((line.parts?.eval ?? Number.NaN) + 50) / 2);
    }
    expect(first.best.parts?.judge).toBe(50);
    const resumed = await evolve({
      baseline: baselineSource,
      evaluator,
      coder: scriptedCoder(),
      generations: 2,
      seed: 3,
      logFile,
    });
    expect(resumed.resumed).toBe(true);
    expect(resumed.best.parts).toEqual(first.best.parts);
    expect(resumed.baseline.parts).toEqual({ eval: 68, judge: 50 });
  });

  it('rejects invalid options with the path of the bad value', async () => {
    const error = await evolve({
      baseline: 'x',
      evaluator: functionEvaluator('f', () => ({ score: 1 })),
      coder: noCoder,
      concurrency: 0,
    }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('options.concurrency');
  });

  it('fails with the evaluator message when the baseline cannot be scored', async () => {
    const { dir } = evaluatorFolder();
    const error = await evolve({
      baseline: 'x',
      evaluator: commandEvaluator({ command: 'echo not-a-score' }),
      coder: noCoder,
      logFile: join(dir, 'log.jsonl'),
    }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('EVALUATION_FAILED');
    expect(error.message).toContain('baseline could not be scored');
    expect(existsSync(join(dir, 'log.jsonl'))).toBe(true);
  });
});
