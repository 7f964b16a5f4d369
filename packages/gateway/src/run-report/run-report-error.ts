import { hasErrorMarker, UnityError } from '@unity/core';

const runReportMarker = Symbol.for('unity.error.RunReportError');

export type RunReportErrorCode =
  /** The gateway address to report to is not an http(s) URL. */
  | 'INVALID_REPORT_URL'
  /** A run id given to the reporter that the gateway would refuse. */
  | 'INVALID_RUN_ID';

/** A run reporter that cannot be made as asked. Delivery failures never throw: they are one `warning` event. */
export class RunReportError extends UnityError<RunReportErrorCode> {
  protected readonly [runReportMarker] = true;
  override readonly name = 'RunReportError';

  static override isInstance(error: unknown): error is RunReportError {
    return hasErrorMarker(error, runReportMarker);
  }
}
