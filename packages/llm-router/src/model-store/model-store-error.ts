import { hasErrorMarker, UnityError } from '@unity/core';

const modelStoreMarker = Symbol.for('unity.error.ModelStoreError');

export type ModelStoreErrorCode =
  /** The file does not start with the GGUF magic bytes. */
  | 'NOT_GGUF'
  /** A GGUF file whose header is truncated or inconsistent, or of a GGUF version this reader does not know. */
  | 'CORRUPT_GGUF'
  /** A pull source that is neither an http(s) URL nor `hf:owner/repo/file.gguf`. */
  | 'INVALID_SOURCE'
  /** The server refused the download (non-2xx) or the transfer broke off; a `.part` file is kept for resuming. */
  | 'DOWNLOAD_FAILED'
  /** Another pull of the same file is running (its lock file names its process). */
  | 'LOCKED'
  /** No bytes arrived for longer than the stall timeout. */
  | 'TIMEOUT'
  /** The downloaded bytes do not have the expected sha256; nothing was kept. */
  | 'CHECKSUM_MISMATCH'
  /** No model of that name in the store. */
  | 'MODEL_NOT_FOUND'
  /** The caller aborted. */
  | 'ABORTED';

/** A failure of the model store: reading a GGUF header, pulling, listing or removing a model. */
export class ModelStoreError extends UnityError<ModelStoreErrorCode> {
  protected readonly [modelStoreMarker] = true;
  override readonly name = 'ModelStoreError';

  static override isInstance(error: unknown): error is ModelStoreError {
    return hasErrorMarker(error, modelStoreMarker);
  }
}
