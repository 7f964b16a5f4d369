import { type Context, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { ChatModel } from '@unity/core';
import type { Evaluator } from './evaluator';
import type { EvolutionEvent, EvolveOptions } from './evolve';

export interface EvolutionTracing {
  /** The tracer (`startTracing(...)?.tracer`); undefined: the run is not traced and costs nothing extra. */
  tracer: Tracer | undefined;
}

/** The options tracing wraps: those of `evolve`, and of `evolveFile`, which passes them on. */
export type TraceableEvolveOptions = Pick<EvolveOptions, 'evaluator' | 'coder' | 'holdout' | 'onEvent'>;

/**
 * Run an evolution (`evolve`, or `(o) => evolveFile(file, o)`) with OpenTelemetry spans: `evolve` for the run
 * (`unity.evolution.stop_reason`, `baseline_score`, `best_score`, `candidates`, `failures`), under it one
 * `evolution.generation` span per generation (`unity.evolution.generation`, its candidates, failures and the best
 * score after it), and an `evaluate` span per evaluation (`gen_ai.evaluation.name`: the evaluator,
 * `gen_ai.evaluation.score.value`, `unity.evolution.candidate_id`; the baseline's under the run, the holdout's with
 * `unity.evolution.holdout`). The coder's calls run inside the current generation's context, so a traced router's
 * request spans are the generation's children; an LLM judge's calls are its evaluation's.
 *
 * Built on the loop's events and on wrappers of the coder and the evaluators. Without a tracer it is `run(options)`.
 */
export function runTracedEvolution<O extends TraceableEvolveOptions, R>(
  options: O,
  tracing: EvolutionTracing,
  run: (options: O) => Promise<R>,
): Promise<R> {
  const { tracer } = tracing;
  if (!tracer) return run(options);
  return tracer.startActiveSpan('evolve', { kind: SpanKind.INTERNAL }, async (span) => {
    const spans = new EvolutionSpans(tracer, span, context.active());
    try {
      return await run({
        ...options,
        coder: spans.coder(options.coder),
        evaluator: spans.evaluator(options.evaluator, false),
        ...(options.holdout ? { holdout: spans.evaluator(options.holdout, true) } : {}),
        onEvent: (event: EvolutionEvent) => {
          spans.observe(event);
          options.onEvent?.(event);
        },
      });
    } catch (error) {
      recordError(span, error, 'UNEXPECTED');
      throw error;
    } finally {
      spans.close();
      span.end();
    }
  });
}

/**
 * Mark a span failed by what was thrown, as OpenTelemetry's conventions ask: `error.type` (its `code`, else
 * `fallbackType`) and an ERROR status with its message (or the value itself).
 */
function recordError(span: Span, error: unknown, fallbackType: string): void {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  span.setAttribute('error.type', typeof code === 'string' ? code : fallbackType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof message === 'string' ? message : String(error) });
}

interface Tally {
  candidates: number;
  failures: number;
}

/** The generation spans and evaluation spans of one run. */
class EvolutionSpans {
  private generation: { span: Span; context: Context; tally: Tally } | undefined;
  private readonly total: Tally = { candidates: 0, failures: 0 };
  private best: number | undefined;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    /** The run's context (its `evolve` span). */
    private readonly run: Context,
  ) {}

  coder(coder: ChatModel): ChatModel {
    return { chat: (request) => context.with(this.context(), () => coder.chat(request)) };
  }

  evaluator(evaluator: Evaluator, holdout: boolean): Evaluator {
    const tracer = this.tracer;
    return {
      name: evaluator.name,
      ...(evaluator.spec ? { spec: evaluator.spec } : {}),
      evaluate: async (source, evaluation) => {
        const parent = this.context();
        const span = tracer.startSpan(
          'evaluate',
          {
            kind: SpanKind.INTERNAL,
            attributes: {
              'gen_ai.evaluation.name': evaluator.name,
              'unity.evolution.candidate_id': evaluation.candidateId,
              ...(holdout ? { 'unity.evolution.holdout': true } : {}),
            },
          },
          parent,
        );
        try {
          const result = await context.with(trace.setSpan(parent, span), () => evaluator.evaluate(source, evaluation));
          span.setAttribute('gen_ai.evaluation.score.value', result.score);
          return result;
        } catch (error) {
          recordError(span, error, 'EVALUATION_FAILED');
          throw error;
        } finally {
          span.end();
        }
      },
    };
  }

  observe(event: EvolutionEvent): void {
    try {
      this.handle(event);
    } catch {
      // Tracing never changes a run.
    }
  }

  close(): void {
    this.endGeneration();
    this.span.setAttributes({
      'unity.evolution.candidates': this.total.candidates,
      'unity.evolution.failures': this.total.failures,
      ...(this.best !== undefined ? { 'unity.evolution.best_score': this.best } : {}),
    });
  }

  private context(): Context {
    return this.generation?.context ?? this.run;
  }

  private handle(event: EvolutionEvent): void {
    switch (event.type) {
      case 'start':
        this.best = event.baselineScore;
        this.span.setAttributes({
          'unity.evolution.baseline_score': event.baselineScore,
          'unity.evolution.resumed': event.resumed,
        });
        break;
      case 'generation': {
        this.endGeneration();
        const span = this.tracer.startSpan(
          'evolution.generation',
          {
            kind: SpanKind.INTERNAL,
            attributes: {
              'unity.evolution.generation': event.generation,
              'unity.evolution.offspring': event.offspring,
            },
          },
          this.run,
        );
        this.generation = { span, context: trace.setSpan(this.run, span), tally: { candidates: 0, failures: 0 } };
        break;
      }
      case 'candidate': {
        if (event.line.candidate_id === 'baseline') break;
        for (const tally of [this.total, this.generation?.tally]) {
          if (!tally) continue;
          tally.candidates += 1;
          if (event.line.score === null) tally.failures += 1;
        }
        this.best = event.line.best_score;
        break;
      }
      case 'stop':
        this.endGeneration();
        this.span.setAttribute('unity.evolution.stop_reason', event.reason);
        break;
    }
  }

  private endGeneration(): void {
    const current = this.generation;
    if (!current) return;
    this.generation = undefined;
    current.span.setAttributes({
      'unity.evolution.candidates': current.tally.candidates,
      'unity.evolution.failures': current.tally.failures,
      ...(this.best !== undefined ? { 'unity.evolution.best_score': this.best } : {}),
    });
    current.span.end();
  }
}
