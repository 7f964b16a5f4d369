import { formatError, UnityError } from '@unity/core';

/**
 * Print a failure the way a user should see it: an expected failure (a `UnityError`: bad config, unreachable
 * server) as its message and fix, without a stack trace; anything else is a bug, printed with its stack.
 */
export function reportCliError(error: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (UnityError.isInstance(error)) {
    write(`unity: ${formatError(error)}\n`);
    return 1;
  }
  write(
    `unity: unexpected error (a bug; please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 70;
}
