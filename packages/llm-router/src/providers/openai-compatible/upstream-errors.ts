import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderError, ProviderErrorCode } from '../../errors';
import { type FailureContext, httpStatusError, upstreamError } from '../http-errors';
import { headerSource } from '../http-transport';

/** MiniMax `base_resp.status_code` values (platform.minimax.io/docs/api-reference/errorcode) and their codes. */
const baseRespCodes: Record<number, ProviderErrorCode> = {
  1002: 'RATE_LIMITED', // rate limit (RPM)
  1039: 'RATE_LIMITED', // token limit (TPM)
  1041: 'RATE_LIMITED', // connection limit
  2045: 'RATE_LIMITED', // rate growth limit
  2056: 'RATE_LIMITED', // usage limit exceeded
  1004: 'AUTH_FAILED', // not authorized
  2049: 'AUTH_FAILED', // invalid API key
  2013: 'BAD_REQUEST', // invalid parameters
};

/** Throw for MiniMax's HTTP-200 failures: `base_resp.status_code != 0` (with no choices). */
export function throwIfBaseRespError(ctx: FailureContext, body: unknown): void {
  const base = (body as { base_resp?: { status_code?: unknown; status_msg?: unknown } } | null)?.base_resp;
  if (!base || typeof base.status_code !== 'number' || base.status_code === 0) return;
  const code = baseRespCodes[base.status_code] ?? 'UPSTREAM_ERROR';
  const detail = `base_resp.status_code ${base.status_code}${typeof base.status_msg === 'string' ? ` (${base.status_msg})` : ''}`;
  throw upstreamError(ctx, detail, code);
}

/**
 * The upstream's words for an error object (`{"message", "type", "code"}`), read as the official client reads them:
 * its message, else the object as JSON, else the body's text; with the status in front when there is one and no
 * message field.
 */
export function wireErrorMessage(status: number | undefined, error: unknown, text?: string): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  if (typeof message === 'string') return message;
  const said = message ? JSON.stringify(message) : error ? JSON.stringify(error) : text;
  if (status && said) return `${status} ${said}`;
  if (status) return `${status} status code (no body)`;
  return said || '(no status code or body)';
}

/** A ProviderError for an HTTP error status, quoting the body's `error.message` and honouring Retry-After. */
export function statusError(
  ctx: FailureContext,
  status: number,
  headers: IncomingHttpHeaders,
  text: string,
): ProviderError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const message = wireErrorMessage(
    status,
    (json as { error?: unknown } | null | undefined)?.error,
    json ? undefined : text,
  );
  return httpStatusError(ctx, status, message, headerSource(headers));
}

/** An `{"error": …}` event inside a 200 stream. */
export function streamedError(ctx: FailureContext, error: unknown): ProviderError {
  return upstreamError(ctx, wireErrorMessage(undefined, error), 'UPSTREAM_ERROR', error);
}
