import { hasErrorMarker, UnityError } from '@unity/core';

const toolMarker = Symbol.for('unity.error.ToolError');

export type ToolErrorCode =
  /** The arguments do not match the tool's schema. */
  | 'INVALID_ARGUMENTS'
  /** No tool of that name. */
  | 'UNKNOWN_TOOL'
  /** A path that resolves outside the workspace root (traversal, absolute, symlink, NUL byte). */
  | 'PATH_OUTSIDE_ROOT'
  /** A file or folder that does not exist. */
  | 'NOT_FOUND'
  /** A binary file where text was expected. */
  | 'BINARY_FILE'
  /** Refused by policy: a command, a flag, a write through a link, a hard-linked file. */
  | 'DENIED'
  /** A command that needed the host's approval and did not get it. */
  | 'NOT_APPROVED'
  /** A call or an upstream request that took longer than its configured limit. */
  | 'TIMEOUT'
  /** The call was cancelled by its caller's AbortSignal. */
  | 'ABORTED'
  /** A tool that needs configuration it does not have (no web search provider). */
  | 'NOT_CONFIGURED'
  /** An upstream service (search provider) failed: refused connection, HTTP error, malformed answer. */
  | 'UPSTREAM_FAILED'
  /** Commands must run in an OS sandbox and none can be had here (no bubblewrap, user namespaces refused). */
  | 'SANDBOX_UNAVAILABLE'
  /** A configuration file or option that cannot be used. */
  | 'INVALID_CONFIG'
  /** Anything else that went wrong while carrying out the call. */
  | 'FAILED';

/** A tool call that could not be carried out. Its message is written for the model, so it can correct itself. */
export class ToolError extends UnityError<ToolErrorCode> {
  protected readonly [toolMarker] = true;
  override readonly name = 'ToolError';

  static override isInstance(error: unknown): error is ToolError {
    return hasErrorMarker(error, toolMarker);
  }
}
