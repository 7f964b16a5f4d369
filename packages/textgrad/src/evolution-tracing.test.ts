import { trace } from '@opentelemetry/api';
import type { ChatModel } from '@unity/core';
import { startTracing, type Tracing, tracingConfigSection } from '@unity/telemetry';
import { type CollectedSpan, FakeOtlpCollector } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baselineSource, reply, scriptedCoder } from './__tests__/test-helpers';
import { functionEvaluator } from './evaluator';
import { runTracedEvolution } from './evolution-tracing';
import { type EvolutionEvent, type EvolveOptions, evolve } from './evolve';
import { rewriteStrategy } from './strategies';

let collector: FakeOtlpCollector;
let tracing: Tracing;

beforeAll(async () => {
  collector = await FakeOtlpCollector.start();
  const started = await startTracing(tracingConfigSection.parse({ enabled: true, endpoint: collector.url }));
  if (!started) throw new Error('expected tracing to be on');
  tracing = started;
});
afterAll(async () => {
  await tracing.shutdown();
  await collector.close();
});
beforeEach(() => collector.reset());

/** Scores the candidate's value by its closeness to 42. */
const closeTo42 = functionEvaluator('close-to-42', (source) => {
  const value = Number(/value = (-?\d+)/.exec(source)?.[1]);
  return { score: Math.max(0, 100 - Math.abs(42 - value)) };
});

/** A coder proposing 31, 32, 33 … (never its parent), making a span of its own for each call: it shows which
 * context the call ran in. */
function tracedCoder(): ChatModel {
  let value = 30;
  return {
    chat: async () => {
      tracing.tracer.startSpan('coder call').end();
      value += 1;
      return reply(`\`\`\`js\nexport const value = ${value};\n\`\`\``);
    },
  };
}

const options = (extra: Partial<EvolveOptions> = {}): EvolveOptions => ({
  baseline: baselineSource,
  fileName: 'candidate.mjs',
  evaluator: closeTo42,
  coder: tracedCoder(),
  strategies: [rewriteStrategy],
  generations: 2,
  concurrency: 2,
  seed: 3,
  ...extra,
});

const childrenOf = (span: CollectedSpan | undefined, name?: string) =>
  collector
    .spans()
    .filter((s) => span && s.parentSpanId === span.spanId && (name === undefined || s.name === name))
    .sort((a, b) => a.startMs - b.startMs);

describe('runTracedEvolution', () => {
  it('traces a run: evolve → a span per generation → its coder calls and evaluations', async () => {
    const events: EvolutionEvent['type'][] = [];
    const result = await runTracedEvolution(
      options({ onEvent: (event) => events.push(event.type) }),
      { tracer: tracing.tracer },
      evolve,
    );
    await tracing.flush();

    expect(events).toContain('generation');
    const [run] = collector.named('evolve');
    expect(run).toMatchObject({
      kind: 'internal',
      attributes: {
        'unity.evolution.stop_reason': result.stopReason,
        'unity.evolution.baseline_score': result.baseline.score,
        'unity.evolution.best_score': result.best.score,
        'unity.evolution.candidates': 4,
        'unity.evolution.failures': result.failures,
      },
    });
    const [baseline] = childrenOf(run, 'evaluate');
    expect(baseline?.attributes).toMatchObject({
      'gen_ai.evaluation.name': 'close-to-42',
      'unity.evolution.candidate_id': 'baseline',
      'gen_ai.evaluation.score.value': result.baseline.score,
    });

    const generations = childrenOf(run, 'evolution.generation');
    expect(generations.map((g) => g.attributes['unity.evolution.generation'])).toEqual([1, 2]);
    const [first] = generations;
    expect(first?.attributes).toMatchObject({ 'unity.evolution.offspring': 2, 'unity.evolution.candidates': 2 });
    expect(childrenOf(first, 'coder call')).toHaveLength(2);
    const evaluations = childrenOf(first, 'evaluate');
    expect(evaluations.map((e) => e.attributes['unity.evolution.candidate_id']).sort()).toEqual(['1-0', '1-1']);
    for (const evaluation of evaluations) {
      expect(evaluation.attributes['gen_ai.evaluation.score.value']).toBeTypeOf('number');
    }
  });

  it('marks a failed evaluation with its error', async () => {
    const failing = functionEvaluator('always-fails', (_source, context) => {
      if (context.candidateId === 'baseline') return { score: 10 };
      throw Object.assign(new Error('no score'), { code: 'EVALUATION_FAILED' });
    });
    await runTracedEvolution(options({ evaluator: failing, generations: 1 }), { tracer: tracing.tracer }, evolve);
    await tracing.flush();
    const failed = collector.named('evaluate').filter((s) => s.status.code === 'error');
    expect(failed).toHaveLength(2);
    expect(failed[0]?.attributes['error.type']).toBe('EVALUATION_FAILED');
    const [generation] = collector.named('evolution.generation');
    expect(generation?.attributes).toMatchObject({ 'unity.evolution.candidates': 2, 'unity.evolution.failures': 2 });
  });

  it('marks the run failed when it throws (a baseline that cannot be scored)', async () => {
    const broken = functionEvaluator('broken', () => {
      throw new Error('cannot run');
    });
    const error = await runTracedEvolution(options({ evaluator: broken }), { tracer: tracing.tracer }, evolve).catch(
      (e: unknown) => e,
    );
    await tracing.flush();
    expect((error as { code?: string }).code).toBe('EVALUATION_FAILED');
    const [run] = collector.named('evolve');
    expect(run).toMatchObject({ status: { code: 'error' }, attributes: { 'error.type': 'EVALUATION_FAILED' } });
  });

  it('rethrows a thrown value that is not an Error as it is, and names it on the run span', async () => {
    const thrown = await runTracedEvolution(options(), { tracer: tracing.tracer }, async () => {
      throw 'cannot start';
    }).catch((e: unknown) => e);
    await tracing.flush();
    expect(thrown).toBe('cannot start');
    const [run] = collector.named('evolve');
    expect(run).toMatchObject({
      status: { code: 'error', message: 'cannot start' },
      attributes: { 'error.type': 'UNEXPECTED' },
    });
  });

  it('without a tracer runs the evolution with the options as given: no span', async () => {
    const given = options({ generations: 1, coder: scriptedCoder() });
    let received: EvolveOptions | undefined;
    const result = await runTracedEvolution(given, { tracer: undefined }, (o) => {
      received = o;
      expect(trace.getActiveSpan()).toBeUndefined();
      return evolve(o);
    });
    await tracing.flush();
    expect(received).toBe(given);
    expect(result.generations).toBe(1);
    expect(collector.exports).toEqual([]);
  });
});
