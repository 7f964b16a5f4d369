import { hasErrorMarker, UnityError } from '@unity/core';

const convergenceMarker = Symbol.for('unity.error.ConvergenceError');

export type ConvergenceErrorCode = 'INVALID_OPTIONS';

/** Options the agent loop cannot run with (a limit that is not a positive number, a cost budget without prices). */
export class ConvergenceError extends UnityError<ConvergenceErrorCode> {
  protected readonly [convergenceMarker] = true;
  override readonly name = 'ConvergenceError';

  static override isInstance(error: unknown): error is ConvergenceError {
    return hasErrorMarker(error, convergenceMarker);
  }
}
