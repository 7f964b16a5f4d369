import { hasErrorMarker, UnityError } from '@unity/core';

export { ConfigError, type ConfigErrorCode } from '@unity/config';

const providerMarker = Symbol.for('unity.error.ProviderError');

export type ProviderErrorCode =
  /** Connection refused or reset, DNS failure, socket closed before a response. */
  | 'CONNECTION_FAILED'
  /** An attempt, first-token or overall deadline passed (the message names which). */
  | 'TIMEOUT'
  /** HTTP 429. */
  | 'RATE_LIMITED'
  /** HTTP 408, 409 or 5xx. */
  | 'SERVER_ERROR'
  /** An error reported inside a successful response: MiniMax `base_resp`, an Ollama `{"error"}` stream line. */
  | 'UPSTREAM_ERROR'
  /** Malformed JSON or a response missing what the protocol promises. */
  | 'BAD_RESPONSE'
  /** A stream that ended without its end marker. */
  | 'STREAM_CUT'
  /** HTTP 401/403, or no API key. */
  | 'AUTH_FAILED'
  /** HTTP 400/422: the request itself was refused. */
  | 'BAD_REQUEST'
  /** HTTP 404 for the model, or a model that is not pulled. */
  | 'MODEL_NOT_FOUND'
  /** The model cannot serve this request (tools on a model without them, prompt longer than its context). */
  | 'UNSUPPORTED'
  /** The caller aborted. */
  | 'ABORTED'
  /** An optional dependency the provider needs is not installed. */
  | 'NOT_INSTALLED';

/** Codes that say the upstream is unwell rather than the request wrong: worth a retry and a fallback. */
const transientCodes: ReadonlySet<ProviderErrorCode> = new Set([
  'CONNECTION_FAILED',
  'TIMEOUT',
  'RATE_LIMITED',
  'SERVER_ERROR',
  'UPSTREAM_ERROR',
  'BAD_RESPONSE',
  'STREAM_CUT',
]);

export interface ProviderErrorOptions {
  code: ProviderErrorCode;
  message: string;
  fix?: string;
  cause?: unknown;
  provider: string;
  model: string;
  /** HTTP status, when the failure came with one. */
  status?: number;
  /** From a Retry-After header, in milliseconds. */
  retryAfterMs?: number;
}

/** One provider's failure to serve one attempt. */
export class ProviderError extends UnityError<ProviderErrorCode> {
  protected readonly [providerMarker] = true;
  override readonly name = 'ProviderError';
  readonly provider: string;
  readonly model: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(options: ProviderErrorOptions) {
    super(options);
    this.provider = options.provider;
    this.model = options.model;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The upstream is unwell (not the request): retry, and fall back to the next provider. */
  get transient(): boolean {
    return transientCodes.has(this.code);
  }

  static override isInstance(error: unknown): error is ProviderError {
    return hasErrorMarker(error, providerMarker);
  }
}

const routerMarker = Symbol.for('unity.error.RouterError');

export type RouterErrorCode =
  /** Every provider in the chain failed or was skipped; `attempts` says why, each with its fix. */
  | 'ALL_PROVIDERS_FAILED'
  /** The chain was empty: nothing configured can serve this request (e.g. local-only with only a cloud model). */
  | 'NO_PROVIDER'
  /** A provider refused the request itself (400) or the key (401/403); not retried elsewhere unless configured. */
  | 'REQUEST_REFUSED'
  /** The caller's AbortSignal fired. */
  | 'ABORTED'
  /** The request's overall deadline passed. */
  | 'DEADLINE_EXCEEDED'
  /** A stream failed after its first token: the text already delivered stays, nothing else is appended. */
  | 'STREAM_INTERRUPTED'
  /** The request contradicts itself (a `toolChoice` naming a tool it does not offer): no model was tried. */
  | 'INVALID_REQUEST'
  /** No model of the chain can honour a request option (`param` names it): none was sent the request. */
  | 'UNSUPPORTED_PARAMETER'
  /** An ensemble (`ensemble/<name>`) could not decide: too few of its members answered; the message names each failure. */
  | 'ENSEMBLE_FAILED';

/** One try of one model, as every answer and every router error reports it. */
export interface Attempt {
  /** Provider id (`minimax`, `ollama`, `llamacpp`, or an injected provider's id). */
  provider: string;
  /** The model string as configured (`ollama_chat/qwen2.5-coder:7b`). */
  model: string;
  ok: boolean;
  /** Why it failed, or why it was skipped (`CIRCUIT_OPEN`, `LOCAL_ONLY`, …), with the fix where there is one. */
  error?: { code: string; message: string; fix?: string };
  /** Wall time of the attempt; 0 for a skip. */
  ms: number;
  /** True when the router did not send anything (breaker open, cooling down, missing key, no tool support). */
  skipped?: boolean;
  /** True for the model store's model, tried after the whole chain failed (`router.last_resort: store`). */
  lastResort?: boolean;
}

export interface RouterErrorOptions {
  code: RouterErrorCode;
  message: string;
  fix?: string;
  cause?: unknown;
  attempts: Attempt[];
  /** The request field at fault (`toolChoice`, `logprobs`), for `INVALID_REQUEST` and `UNSUPPORTED_PARAMETER`. */
  param?: string;
}

/** The router could not answer: carries every attempt, and its message names each failure and its fix. */
export class RouterError extends UnityError<RouterErrorCode> {
  protected readonly [routerMarker] = true;
  override readonly name = 'RouterError';
  readonly attempts: Attempt[];
  readonly param: string | undefined;

  constructor(options: RouterErrorOptions) {
    super(options);
    this.attempts = options.attempts;
    this.param = options.param;
  }

  static override isInstance(error: unknown): error is RouterError {
    return hasErrorMarker(error, routerMarker);
  }
}
