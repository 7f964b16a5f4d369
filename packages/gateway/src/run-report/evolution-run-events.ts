import type { EvolutionEvent } from '@unity/textgrad';
import { clipText, type EvolutionRunEvent, maxRunNameLength, type RunArm, type Unstamped } from './run-events';

const name = (value: string) => clipText(value, maxRunNameLength);

/** The bandit's arms as a report carries them (the first 32, names clipped). */
function armsOf(bandit: Record<string, { pulls: number; meanReward: number; successes: number }>) {
  const arms: Record<string, RunArm> = {};
  for (const [arm, stats] of Object.entries(bandit).slice(0, 32)) {
    arms[name(arm)] = { pulls: stats.pulls, meanReward: stats.meanReward, successes: stats.successes };
  }
  return arms;
}

/**
 * What a run report says of one evolution-loop event: the start with the baseline's score, each generation, each
 * candidate's score with the best so far and the bandit's arms after it, each new best, holdout results and warnings,
 * and the stop. Candidate texts and evaluator feedback stay out.
 */
export function evolutionRunEvent(event: EvolutionEvent): Unstamped<EvolutionRunEvent> | undefined {
  switch (event.type) {
    case 'start':
      return {
        type: 'start',
        resumed: event.resumed,
        baselineScore: event.baselineScore,
        generation: event.generation,
        candidates: event.candidates,
      };
    case 'generation':
      return { type: 'generation', generation: event.generation, offspring: event.offspring };
    case 'candidate': {
      const { line } = event;
      return {
        type: 'candidate',
        generation: line.generation,
        id: name(line.candidate_id),
        parentId: line.parent_id === null ? null : name(line.parent_id),
        strategy: name(line.strategy),
        score: line.score !== null && Number.isFinite(line.score) ? line.score : null,
        bestScore: line.best_score,
        arms: armsOf(line.bandit),
        tokens: Math.max(0, Math.round(line.tokens)),
        costUsd: Math.max(0, line.cost_usd),
        ms: Math.max(0, line.ms),
        ...(line.error === undefined ? {} : { error: clipText(line.error) }),
      };
    }
    case 'best':
      return {
        type: 'best',
        id: name(event.candidate.id),
        score: event.candidate.score,
        generation: event.candidate.generation,
      };
    case 'holdout':
      return {
        type: 'holdout',
        id: name(event.candidateId),
        score: event.score,
        holdoutScore: event.holdoutScore,
        ...(event.error === undefined ? {} : { error: clipText(event.error) }),
      };
    case 'warning':
      return { type: 'warning', kind: name(event.kind), id: name(event.candidateId), message: clipText(event.message) };
    case 'stop':
      return { type: 'stop', stopReason: name(event.reason) };
    default:
      return undefined;
  }
}
