import { hasErrorMarker, type Redactor, UnityError } from '@unity/core';

const gatewayMarker = Symbol.for('unity.error.GatewayError');

export type GatewayErrorCode =
  /** The body is not JSON. */
  | 'INVALID_JSON'
  /** The body is JSON but fails the endpoint's schema (the message names the field). */
  | 'INVALID_REQUEST'
  /** No model the request may go to can honour one of its parameters (`param` names it). */
  | 'UNSUPPORTED_PARAMETER'
  /** The body is larger than the configured limit. */
  | 'BODY_TOO_LARGE'
  /** The JSON body nests deeper than `server.max_json_depth`. */
  | 'JSON_TOO_DEEP'
  /** The gateway is at its cap of concurrent requests or request bodies: retry after `Retry-After`. */
  | 'OVERLOADED'
  /** The requested model is not one the gateway serves (the message lists the known ones). */
  | 'UNKNOWN_MODEL'
  /** No or a wrong API key. */
  | 'UNAUTHORIZED'
  /** A virtual key that is unknown, expired or revoked (the message says which). */
  | 'INVALID_API_KEY'
  /** A valid key that may not do this: a virtual key on the admin API, a model outside the key's list. */
  | 'FORBIDDEN'
  /** The admin API without a master key configured (`server.api_key`). */
  | 'ADMIN_DISABLED'
  /** The key's requests or tokens per minute are used up: retry after `Retry-After`. */
  | 'RATE_LIMITED'
  /** The key's budget for the period is spent: no retry helps before the period ends or the budget is raised. */
  | 'BUDGET_EXCEEDED'
  /** Bound to a non-loopback address without an API key: refused at start. */
  | 'API_KEY_REQUIRED'
  /** The address cannot be listened on (in use, not permitted). */
  | 'LISTEN_FAILED'
  /** Every provider the router tried failed (the message names each attempt). */
  | 'UPSTREAM_FAILED'
  /** A bug in the gateway (not an upstream's or the client's failure). */
  | 'INTERNAL_ERROR'
  /**
   * The gateway's shared state (Redis) cannot be reached to check this request, and `server.redis_failure` is
   * closed (or the request's key was never seen by this replica): retry after `Retry-After`.
   */
  | 'STORE_UNAVAILABLE'
  /** The gateway is draining for shutdown. */
  | 'SHUTTING_DOWN'
  /** No such route. */
  | 'NOT_FOUND'
  /** The endpoint exists but this gateway cannot do it (its router lacks the capability, e.g. pulling models). */
  | 'NOT_IMPLEMENTED';

export interface GatewayErrorOptions {
  code: GatewayErrorCode;
  message: string;
  fix?: string;
  cause?: unknown;
  /** HTTP status sent to the client. */
  status: number;
  /** The request field at fault, for validation errors (OpenAI's `param`). */
  param?: string;
  /** Sent as `Retry-After` (seconds) with the error. */
  retryAfterSeconds?: number;
  /** OpenAI's `type` and `code` when they are not derived from the status and code (`insufficient_quota`). */
  openai?: { type: string; code: string };
  /** More response headers (`x-should-retry: false`, `x-ratelimit-*`). */
  headers?: Record<string, string>;
}

/** A failure the gateway reports to an HTTP client (in the protocol's error shape) or to the user at start. */
export class GatewayError extends UnityError<GatewayErrorCode> {
  protected readonly [gatewayMarker] = true;
  override readonly name = 'GatewayError';
  readonly status: number;
  readonly param: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly openai: { type: string; code: string } | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(options: GatewayErrorOptions) {
    super(options);
    this.status = options.status;
    this.param = options.param;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.openai = options.openai;
    this.headers = options.headers;
  }

  static override isInstance(error: unknown): error is GatewayError {
    return hasErrorMarker(error, gatewayMarker);
  }
}

/** The error with every secret in its message and fix redacted (the same error when there is nothing to redact). */
export function redactGatewayError(error: GatewayError, redactor: Redactor): GatewayError {
  const message = redactor.text(error.message);
  const fix = error.fix === undefined ? undefined : redactor.text(error.fix);
  if (message === error.message && fix === error.fix) return error;
  return new GatewayError({
    code: error.code,
    status: error.status,
    message,
    ...(fix === undefined ? {} : { fix }),
    ...(error.param === undefined ? {} : { param: error.param }),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    ...(error.openai === undefined ? {} : { openai: error.openai }),
    ...(error.headers === undefined ? {} : { headers: error.headers }),
    cause: error.cause,
  });
}
