import type { ConvergenceThreshold, ReminderLevel } from './convergence-warnings';
import type { StuckPattern } from './stuck-detector';

const advice: Record<ReminderLevel, string> = {
  'consider wrapping up': 'Consider wrapping up: if you already have what you need, give your answer now.',
  'time to converge': 'It is time to converge: stop exploring and make only the calls your answer depends on.',
  'please synthesise your findings':
    'Please synthesise your findings into an answer now; make another call only if the answer cannot be given without it.',
  'CRITICAL: give the final answer now': 'CRITICAL: give the final answer now, without further tool calls.',
};

export interface ReminderFacts {
  threshold: ConvergenceThreshold;
  /** Tool calls made so far. */
  toolCalls: number;
  iterations: number;
  maxIterations: number;
  /** `summariseActivity` of the recent calls. */
  activity: string;
}

/** The reminder injected when the call count crosses a threshold: the facts first, then advice of the threshold's firmness. */
export function reminderMessage(facts: ReminderFacts): string {
  return (
    `[Convergence reminder: ${facts.threshold.level}] You have made ${facts.toolCalls} tool calls in ` +
    `${facts.iterations} of at most ${facts.maxIterations} iterations. Recent activity: ${facts.activity}. ` +
    advice[facts.threshold.level]
  );
}

/** The one request made at the hard limit, with tools withdrawn. */
export function finalAnswerRequest(facts: Omit<ReminderFacts, 'threshold'>): string {
  return (
    `[Iteration limit reached] You have used all ${facts.maxIterations} iterations (${facts.toolCalls} tool calls; ` +
    `recent activity: ${facts.activity}). Tools are no longer available. Give your final answer now from what you ` +
    'have found, and say plainly what remains unverified or unfinished.'
  );
}

/** The targeted nudge sent the first time a repetition is noticed. */
export function nudgeMessage(pattern: StuckPattern): string {
  const what = `[Repetition noticed] ${pattern.description}.`;
  switch (pattern.kind) {
    case 'repeated-call':
      return `${what} Calling it again will return the same result. Use what it returned, try a different approach, or give your answer.`;
    case 'repeated-failure':
      return `${what} Read the error, then change the arguments or use another tool; do not repeat the same call.`;
    case 'alternation':
      return `${what} Neither call is producing anything new. Decide from what you have, try a different approach, or give your answer.`;
    case 'empty-replies':
      return `${what} Reply with your answer, or call a tool if you still need one.`;
  }
}
