import { hasErrorMarker, UnityError } from '@unity/core';

const configMarker = Symbol.for('unity.error.ConfigError');

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_NOT_FOUND' | 'UNKNOWN_PROVIDER';

/** A configuration value that cannot be used: names the file, line and field where known, and the fix. */
export class ConfigError extends UnityError<ConfigErrorCode> {
  protected readonly [configMarker] = true;
  override readonly name = 'ConfigError';

  static override isInstance(error: unknown): error is ConfigError {
    return hasErrorMarker(error, configMarker);
  }
}

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
