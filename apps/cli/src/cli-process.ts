import { InvalidArgumentError } from 'commander';

/** The exit status of a command stopped by Ctrl-C (128 + SIGINT), the same for every command. */
export const INTERRUPTED = 130;

let interrupted = false;

/** True once Ctrl-C stopped the running command. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/**
 * Call `abort` on Ctrl-C (once) and remember that the command was interrupted, so that it ends with status 130 and
 * "interrupted" whatever error the aborted work throws. Returns the function that removes the handler.
 */
export function onInterrupt(abort: () => void): () => void {
  const handler = () => {
    interrupted = true;
    abort();
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/**
 * End quietly when the reader of stdout goes away (`unity ask … | head`): the output is no longer wanted, which is
 * no error worth a stack trace.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

function numberOption(test: (n: number) => boolean, expected: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !test(n)) throw new InvalidArgumentError(`expected ${expected}, got "${value}"`);
    return n;
  };
}

/** Commander parsers for numeric options, one wording everywhere. */
export const positiveInteger = numberOption((n) => Number.isInteger(n) && n > 0, 'a positive integer');
export const nonNegativeInteger = numberOption((n) => Number.isInteger(n) && n >= 0, 'a whole number ≥ 0');
export const positiveNumber = numberOption((n) => Number.isFinite(n) && n > 0, 'a positive number');
export const port = numberOption((n) => Number.isInteger(n) && n >= 0 && n <= 65_535, 'a port 0–65535');
export const fraction = numberOption((n) => n >= 0 && n <= 1, 'a number 0–1');
export const scoreValue = numberOption((n) => n >= 0 && n <= 100, 'a score 0–100');
