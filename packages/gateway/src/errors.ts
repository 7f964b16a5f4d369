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
}

/** A failure the gateway reports to an HTTP client (in the protocol's error shape) or to the user at start. */
export class GatewayError extends UnityError<GatewayErrorCode> {
  protected readonly [gatewayMarker] = true;
  override readonly name = 'GatewayError';
  readonly status: number;
  readonly param: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(options: GatewayErrorOptions) {
    super(options);
    this.status = options.status;
    this.param = options.param;
    this.retryAfterSeconds = options.retryAfterSeconds;
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
    cause: error.cause,
  });
}
