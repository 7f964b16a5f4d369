import type { FastifyRequest } from 'fastify';
import { callerOf } from './keys/key-auth';

/** What a request tells the router's response cache: whether to use it, and whose entries it may use. */
interface CacheDirectives {
  /** `false` for `Cache-Control: no-store` (neither read nor write), `'refresh'` for `no-cache` (write only). */
  cache?: false | 'refresh';
  /** The caller's tenant: a virtual key's id, or a digest of the master key; none on an open gateway. */
  cacheScope?: string;
}

/**
 * The cache directives of a chat request: `Cache-Control: no-store` / `no-cache` (and HTTP/1.0's `Pragma: no-cache`),
 * and the scope that keeps each key's answers to itself: one virtual key never receives another's cached answer.
 */
export function cacheDirectives(request: FastifyRequest): CacheDirectives {
  const { 'cache-control': control, pragma } = request.headers;
  const directives =
    control === undefined && pragma === undefined
      ? undefined
      : new Set(
          [control, pragma]
            .flatMap((value) => (Array.isArray(value) ? value : [value ?? '']))
            .flatMap((value) => value.split(','))
            .map((value) => value.trim().toLowerCase()),
        );
  const cache = directives?.has('no-store') ? false : directives?.has('no-cache') ? 'refresh' : undefined;
  // The key check found the caller and its scope once: the key is not read again here.
  const caller = callerOf(request);
  const scope = caller.kind === 'anonymous' ? undefined : caller.cacheScope;
  return { ...(cache === undefined ? {} : { cache }), ...(scope === undefined ? {} : { cacheScope: scope }) };
}
