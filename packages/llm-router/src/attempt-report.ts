import { describeError, UnityError } from '@unity/core';
import type { Attempt } from './errors';

/** An attempt's `error` from whatever was thrown: the message, and the fix apart. */
export function attemptError(error: unknown): NonNullable<Attempt['error']> {
  if (UnityError.isInstance(error)) {
    return { code: error.code, message: error.message, ...(error.fix ? { fix: error.fix } : {}) };
  }
  return {
    code: 'UNEXPECTED',
    message: describeError(error),
    fix: 'this is a bug in a provider adapter; please report it',
  };
}

/**
 * The attempts as lines a user can act on: one per model (retries of the same model folded into one line with the
 * count), each with what went wrong and its fix.
 */
export function describeAttempts(attempts: readonly Attempt[]): string {
  const groups: { attempt: Attempt; tries: number }[] = [];
  for (const attempt of attempts) {
    const last = groups.at(-1);
    if (
      last &&
      last.attempt.provider === attempt.provider &&
      last.attempt.model === attempt.model &&
      last.attempt.error?.code === attempt.error?.code
    ) {
      last.tries++;
      last.attempt = attempt;
    } else groups.push({ attempt, tries: 1 });
  }
  return groups
    .map(({ attempt, tries }, i) => {
      const how = attempt.ok ? 'answered' : attempt.skipped ? 'skipped' : 'failed';
      const count = tries > 1 ? ` after ${tries} tries` : '';
      const error = attempt.error;
      const what = error ? `: ${error.message} [${error.code}]` : '';
      const fix = error?.fix ? `\n     fix: ${error.fix}` : '';
      return `  ${i + 1}. ${attempt.model} (${attempt.provider}) ${how}${count}${what}${fix}`;
    })
    .join('\n');
}
