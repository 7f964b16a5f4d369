import { EvolutionError } from './errors';
import { combineEvaluators, type Evaluator } from './evaluator';
import { type JudgeEvaluatorOptions, judgeEvaluator } from './judge-evaluator';

/** Each scorer's share of a candidate's score: `eval` (a command or test run), `judge` (the LLM judge). */
export interface ScoringWeights {
  eval?: number;
  judge?: number;
}

export interface ScoringOptions {
  /** The `eval` part: a command, test-run or remote evaluator. */
  command?: Evaluator;
  /** The `judge` part: an LLM judge with these options. */
  judge?: JudgeEvaluatorOptions;
  /** The judge's share when both score, 0–1: `(1 − w) × eval + w × judge`. Default 0.5 (equal weights). */
  judgeWeight?: number;
}

/**
 * The evaluator of a run scored by a command, an LLM judge, or both: with both, their weighted mean, whose
 * evaluations (and log lines) keep each part's score as `parts: {eval, judge}`. Also returns each part's weight.
 */
export function scoringEvaluator(options: ScoringOptions): { evaluator: Evaluator; weights: ScoringWeights } {
  const judge = options.judge ? judgeEvaluator(options.judge) : undefined;
  const { command } = options;
  if (command && judge) {
    const w = options.judgeWeight ?? 0.5;
    if (!(w >= 0 && w <= 1)) {
      throw new EvolutionError({
        code: 'INVALID_OPTIONS',
        message: `judgeWeight: expected a number 0–1, got ${w}`,
      });
    }
    const evaluator = combineEvaluators([
      { evaluator: command, weight: 1 - w, name: 'eval' },
      { evaluator: judge, weight: w, name: 'judge' },
    ]);
    return { evaluator, weights: { eval: 1 - w, judge: w } };
  }
  if (command) return { evaluator: command, weights: { eval: 1 } };
  if (judge) return { evaluator: judge, weights: { judge: 1 } };
  throw new EvolutionError({
    code: 'INVALID_OPTIONS',
    message: 'nothing scores the candidates: give a command evaluator, a judge, or both',
  });
}
