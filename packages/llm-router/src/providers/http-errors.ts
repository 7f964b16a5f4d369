import { describeError } from '@unity/core';
import { ProviderError, type ProviderErrorCode } from '../errors';

/** Where a failure happened and how to fix the usual causes, for messages a user can act on. */
export interface FailureContext {
  provider: string;
  model: string;
  /** The upstream as the user configured it (`http://127.0.0.1:11434`, `https://api.minimax.io/v1`). */
  endpoint: string;
  /** Fixes for the failures whose remedy depends on the upstream. */
  fixes: {
    /** The server cannot be reached (e.g. "start Ollama: `ollama serve`"). */
    connection: string;
    /** The key was refused or is missing. */
    auth: string;
    /** The model does not exist there (e.g. "`ollama pull <model>`"). */
    modelNotFound: string;
  };
}

/** Headers as both `fetch` and the SDKs expose them. */
interface HeaderSource {
  get(name: string): string | null;
}

/**
 * Milliseconds to wait from `Retry-After` (delay-seconds or an HTTP date) or `retry-after-ms`; undefined when absent
 * or unreadable. A date in the past gives 0.
 */
export function parseRetryAfter(headers: HeaderSource | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The code for an HTTP error status, following the router's table. */
export function codeForStatus(status: number): ProviderErrorCode {
  if (status === 429) return 'RATE_LIMITED';
  if (status === 401 || status === 403) return 'AUTH_FAILED';
  if (status === 404) return 'MODEL_NOT_FOUND';
  if (status === 408 || status === 409 || status >= 500) return 'SERVER_ERROR';
  return 'BAD_REQUEST';
}

/** A ProviderError for an HTTP error response, its message quoting the upstream's own words. */
export function httpStatusError(
  ctx: FailureContext,
  status: number,
  upstreamMessage: string | undefined,
  headers?: HeaderSource,
  code: ProviderErrorCode = codeForStatus(status),
): ProviderError {
  const retryAfterMs = parseRetryAfter(headers);
  const said = upstreamMessage ? `: ${upstreamMessage}` : '';
  const where = `${ctx.provider} (${ctx.endpoint}) answered HTTP ${status} for model ${ctx.model}${said}`;
  return new ProviderError({
    code,
    message: where,
    fix: fixFor(ctx, code, retryAfterMs),
    provider: ctx.provider,
    model: ctx.model,
    status,
    retryAfterMs,
  });
}

/** An error reported inside a successful (HTTP 200) response: a MiniMax `base_resp`, an Ollama `{"error"}` line. */
export function upstreamError(
  ctx: FailureContext,
  detail: string,
  code: ProviderErrorCode = 'UPSTREAM_ERROR',
  cause?: unknown,
): ProviderError {
  return new ProviderError({
    code,
    message: `${ctx.provider} (${ctx.endpoint}) reported an error for model ${ctx.model}: ${detail}`,
    fix: fixFor(ctx, code, undefined),
    provider: ctx.provider,
    model: ctx.model,
    status: 200,
    cause,
  });
}

/** The response did not follow the protocol (malformed JSON, a missing field). */
export function badResponse(ctx: FailureContext, detail: string, cause?: unknown): ProviderError {
  return new ProviderError({
    code: 'BAD_RESPONSE',
    message: `${ctx.provider} (${ctx.endpoint}) sent a malformed response for model ${ctx.model}: ${detail}`,
    fix: 'retry; if it persists, check that the server speaks the expected protocol at this address',
    provider: ctx.provider,
    model: ctx.model,
    cause,
  });
}

/** A response that parsed as JSON but lacks what the protocol promises, naming the first paths that are wrong. */
export function responseMismatch(
  ctx: FailureContext,
  what: string,
  error: Error & { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> },
): ProviderError {
  const issues = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
  return badResponse(ctx, `${what}: ${issues}`, error);
}

/** The response ended before its end marker (connection dropped mid-body or mid-stream). */
export function streamCut(ctx: FailureContext, detail: string, cause?: unknown): ProviderError {
  return new ProviderError({
    code: 'STREAM_CUT',
    message: `the response from ${ctx.provider} (${ctx.endpoint}) for model ${ctx.model} ended before it was complete: ${detail}`,
    fix: 'retry; the server or a proxy dropped the connection',
    provider: ctx.provider,
    model: ctx.model,
    cause,
  });
}

/** The caller's signal aborted the request. */
function abortedError(ctx: FailureContext, signal: AbortSignal): ProviderError {
  return new ProviderError({
    code: 'ABORTED',
    message: `the request to ${ctx.provider} (${ctx.endpoint}) for model ${ctx.model} was aborted by the caller${
      signal.reason === undefined ? '' : ` (${describeError(signal.reason)})`
    }`,
    provider: ctx.provider,
    model: ctx.model,
    cause: signal.reason,
  });
}

const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  // A TCP connect that timed out: the host is unreachable, not slow to answer.
  'ETIMEDOUT',
]);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The first `code` found along an error's cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET` …). */
export function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current != null; depth++) {
    const { code, errors } = current as { code?: unknown; errors?: unknown };
    if (typeof code === 'string' && (connectionCodes.has(code) || timeoutCodes.has(code))) return code;
    // Happy-eyeballs connects fail with an AggregateError holding one error per address.
    if (Array.isArray(errors) && errors.length > 0) return errorCodeOf(errors[0]);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

interface TransportFailure {
  /** True when the response headers had arrived before the failure (the body or stream broke). */
  afterHeaders: boolean;
  /** Names the timeout option when an undici headers/body timeout fired (e.g. `headersTimeoutMs = 600000`). */
  timeoutName?: string;
}

/**
 * Classify an exception thrown while talking to the upstream: the caller's abort, a timeout, a connection failure,
 * malformed JSON, or a body cut short. ProviderErrors pass through unchanged.
 */
export function transportError(
  ctx: FailureContext,
  error: unknown,
  signal: AbortSignal,
  failure: TransportFailure,
): ProviderError {
  if (ProviderError.isInstance(error)) return error;
  if (signal.aborted) return abortedError(ctx, signal);
  const code = errorCodeOf(error);
  const detail = describeError(rootCause(error));
  if (code && timeoutCodes.has(code)) {
    const which = code === 'UND_ERR_BODY_TIMEOUT' ? 'no data arrived' : 'no response headers arrived';
    return new ProviderError({
      code: 'TIMEOUT',
      message: `${ctx.provider} (${ctx.endpoint}) timed out for model ${ctx.model}: ${which} within ${
        failure.timeoutName ?? 'the connection timeout'
      } (${detail})`,
      fix: 'a cold model load can take minutes: raise the timeout, or warm the model up first',
      provider: ctx.provider,
      model: ctx.model,
      cause: error,
    });
  }
  if (error instanceof SyntaxError) return badResponse(ctx, detail, error);
  if (failure.afterHeaders) return streamCut(ctx, detail, error);
  return new ProviderError({
    code: 'CONNECTION_FAILED',
    message: `cannot reach ${ctx.provider} at ${ctx.endpoint} for model ${ctx.model}: ${detail}`,
    fix: ctx.fixes.connection,
    provider: ctx.provider,
    model: ctx.model,
    cause: error,
  });
}

function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 6; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause == null) return current;
    current = cause;
  }
  return current;
}

function fixFor(ctx: FailureContext, code: ProviderErrorCode, retryAfterMs: number | undefined): string | undefined {
  switch (code) {
    case 'AUTH_FAILED':
      return ctx.fixes.auth;
    case 'MODEL_NOT_FOUND':
      return ctx.fixes.modelNotFound;
    case 'RATE_LIMITED':
      return retryAfterMs === undefined
        ? 'wait a moment or lower the request rate'
        : `wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After) or lower the request rate`;
    case 'SERVER_ERROR':
    case 'UPSTREAM_ERROR':
      return 'retry later; the upstream is failing';
    case 'BAD_REQUEST':
      return 'the upstream refused the request itself: check the messages, tools and options sent';
    default:
      return undefined;
  }
}

/**
 * Failure contexts by model, each built once (errors are rare, but the context is taken on every request). Bounded:
 * past `limit` models the cache starts over.
 */
export function failureContexts(
  build: (model: string) => FailureContext,
  limit = 256,
): (model: string) => FailureContext {
  const cache = new Map<string, FailureContext>();
  return (model) => {
    let ctx = cache.get(model);
    if (!ctx) {
      if (cache.size >= limit) cache.clear();
      ctx = build(model);
      cache.set(model, ctx);
    }
    return ctx;
  };
}

/** A signal that never aborts, for requests no caller can cancel (a shared, cached capability lookup). */
export const neverAborted: AbortSignal = new AbortController().signal;
