import { hasErrorMarker, UnityError } from '@unity/core';

const toolMarker = Symbol.for('unity.error.ToolError');

export type ToolErrorCode =
  | 'INVALID_ARGUMENTS'
  | 'UNKNOWN_TOOL'
  | 'PATH_OUTSIDE_ROOT'
  | 'NOT_FOUND'
  | 'DENIED'
  | 'TIMEOUT'
  | 'FAILED';

/** A tool call that could not be carried out. Its message is written for the model, so it can correct itself. */
export class ToolError extends UnityError<ToolErrorCode> {
  protected readonly [toolMarker] = true;
  override readonly name = 'ToolError';

  static override isInstance(error: unknown): error is ToolError {
    return hasErrorMarker(error, toolMarker);
  }
}
