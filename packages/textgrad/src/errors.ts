import { describeError, hasErrorMarker, UnityError } from '@unity/core';

const evolutionMarker = Symbol.for('unity.error.EvolutionError');

export type EvolutionErrorCode =
  /** An option of `evolve()` or of an evaluator is invalid. */
  | 'INVALID_OPTIONS'
  /** The evaluator ran but produced no usable score (exit status, no score line, bad JSON). */
  | 'EVALUATION_FAILED'
  /** The evaluator did not finish within its timeout; its process group was killed. */
  | 'EVALUATION_TIMEOUT'
  /** A SEARCH/REPLACE reply whose SEARCH text is not in the parent (or a reply with no block at all). */
  | 'DIFF_NOT_APPLIED'
  /** The coder's reply held no usable candidate (empty, or unchanged from the parent). */
  | 'BAD_REPLY'
  /** The LLM judge answered twice without a valid `{score, feedback}` object. */
  | 'JUDGE_INVALID'
  /** Replay found no recorded reply for a request. */
  | 'CASSETTE_MISS'
  /** A cassette or evolution log that cannot be read. */
  | 'FILE_INVALID'
  /** The file to evolve, or a file an evaluator needs, does not exist. */
  | 'FILE_NOT_FOUND'
  /** Evaluators must run in an OS sandbox and none can be had here (no bubblewrap, user namespaces refused). */
  | 'SANDBOX_UNAVAILABLE'
  /** An optional dependency (bullmq) is not installed. */
  | 'NOT_INSTALLED'
  /** The best variant could not be written out (a missing folder, no permission); it is still in the log. */
  | 'WRITE_FAILED'
  /** Every candidate of a run failed (usually one cause: a coder that never answered, an evaluator that cannot run). */
  | 'ALL_CANDIDATES_FAILED'
  /** The Redis queue failed (unreachable, job failed on every worker). */
  | 'QUEUE_FAILED'
  /** The caller aborted. */
  | 'ABORTED';

/** A failure of the evolution loop, an evaluator, a cassette or the distributed queue. */
export class EvolutionError extends UnityError<EvolutionErrorCode> {
  protected readonly [evolutionMarker] = true;
  override readonly name = 'EvolutionError';

  static override isInstance(error: unknown): error is EvolutionError {
    return hasErrorMarker(error, evolutionMarker);
  }
}

/** Errors that end the whole run instead of failing one candidate. */
export function isFatal(error: unknown): boolean {
  return (
    EvolutionError.isInstance(error) &&
    (error.code === 'CASSETTE_MISS' ||
      error.code === 'INVALID_OPTIONS' ||
      error.code === 'FILE_INVALID' ||
      error.code === 'NOT_INSTALLED' ||
      error.code === 'SANDBOX_UNAVAILABLE')
  );
}

/** A one-line description of a failure for a log line or a wrapping message: the message without its fix, and its code. */
export function errorText(error: unknown): string {
  if (UnityError.isInstance(error)) {
    return `${error.message} (${error.code})`;
  }
  return describeError(error);
}
