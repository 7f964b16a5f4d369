import { hasErrorMarker, UnityError } from '@unity/core';

const cacheMarker = Symbol.for('unity.error.CacheError');

export type CacheErrorCode =
  /** The store's package (node-sqlite3-wasm, ioredis) is not installed, or failed to load. */
  | 'NOT_INSTALLED'
  /** The store could not be opened or did not answer (a Redis outage, an unwritable file, a held lock). */
  | 'STORE_UNAVAILABLE'
  /** The embedding chain could not embed a request for the semantic layer. */
  | 'EMBEDDING_FAILED'
  /** An entry read back is not an answer the router wrote (corrupt, or another program's): a miss, and deleted. */
  | 'ENTRY_INVALID';

/**
 * A failure of the response cache's store or of its embeddings. Never thrown at a caller: the request goes on without
 * the cache, and the error travels in a `cache-error` event.
 */
export class CacheError extends UnityError<CacheErrorCode> {
  protected readonly [cacheMarker] = true;
  override readonly name = 'CacheError';

  static override isInstance(error: unknown): error is CacheError {
    return hasErrorMarker(error, cacheMarker);
  }
}
