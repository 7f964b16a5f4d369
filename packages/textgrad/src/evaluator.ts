import { EvolutionError } from './errors';

/** A score in [0, 100] with optional feedback the strategies show the coder. */
export interface Evaluation {
  score: number;
  feedback?: string;
  /** Tokens an LLM judge spent on this evaluation. */
  tokens?: number;
  costUsd?: number;
  /** The score of each part of a combination (`combineEvaluators`), by the part's name. */
  parts?: Record<string, number>;
}

export interface EvaluationContext {
  candidateId: string;
  /** The candidate's file name (the extension tells evaluators and models the language). */
  fileName: string;
  signal?: AbortSignal;
}

/** A serialisable description of a process-based evaluator, so a remote worker can rebuild it. */
export interface EvaluatorSpec {
  kind: 'command' | 'test';
  command: string;
  /** Files copied into the sandbox beside the candidate (relative path → content). */
  files?: Record<string, string>;
  timeoutMs?: number;
  maxOutputBytes?: number;
}

/** Scores a candidate. Throwing fails the candidate (score null, error logged); the run goes on. */
export interface Evaluator {
  readonly name: string;
  evaluate(source: string, context: EvaluationContext): Promise<Evaluation>;
  /** Present on process-based evaluators: lets `evolve-worker` run them elsewhere. */
  readonly spec?: EvaluatorSpec;
}

/** One evaluator of a combination; `name` (default: the evaluator's) labels its score and feedback. */
export interface EvaluatorPart {
  evaluator: Evaluator;
  weight: number;
  name?: string;
}

/**
 * Weighted mean of several evaluators' scores; feedback is gathered under each part's name, and each part's own score
 * is kept in `parts` (a part that throws fails the candidate).
 */
export function combineEvaluators(parts: readonly EvaluatorPart[]): Evaluator {
  if (parts.length === 0) {
    throw new EvolutionError({ code: 'INVALID_OPTIONS', message: 'combineEvaluators needs at least one evaluator' });
  }
  const total = parts.reduce((sum, p) => sum + p.weight, 0);
  parts.forEach((p, i) => {
    if (!(Number.isFinite(p.weight) && p.weight >= 0)) {
      throw new EvolutionError({
        code: 'INVALID_OPTIONS',
        message: `combineEvaluators[${i}].weight: expected a number ≥ 0, got ${p.weight}`,
      });
    }
  });
  if (!(total > 0)) {
    throw new EvolutionError({ code: 'INVALID_OPTIONS', message: 'combineEvaluators: the weights add up to 0' });
  }
  return {
    name: `combined(${parts.map((p) => `${p.name ?? p.evaluator.name}×${p.weight}`).join(', ')})`,
    async evaluate(source, context) {
      const results = await Promise.all(parts.map((p) => p.evaluator.evaluate(source, context)));
      let score = 0;
      let tokens = 0;
      let costUsd = 0;
      const feedback: string[] = [];
      const scores: Record<string, number> = {};
      results.forEach((r, i) => {
        const part = parts[i] as EvaluatorPart;
        const name = part.name ?? part.evaluator.name;
        score += (r.score * part.weight) / total;
        tokens += r.tokens ?? 0;
        costUsd += r.costUsd ?? 0;
        scores[name] = r.score;
        if (r.feedback) feedback.push(`[${name}: ${r.score.toFixed(1)}] ${r.feedback}`);
      });
      return { score, feedback: feedback.join('\n'), tokens, costUsd, parts: scores };
    },
  };
}

/** Build an evaluator from a plain function (synthetic benchmarks, in-process checks). */
export function functionEvaluator(
  name: string,
  fn: (source: string, context: EvaluationContext) => Evaluation | Promise<Evaluation>,
): Evaluator {
  return { name, evaluate: async (source, context) => fn(source, context) };
}
