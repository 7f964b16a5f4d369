import { describeError, UnityError } from '@unity/core';
import { GatewayError } from './errors';
import type { GatewayAttempt } from './gateway-router';

/** The attempts a router failure carries (RouterError), if any. */
export function attemptsOf(error: unknown): GatewayAttempt[] {
  const attempts = (error as { attempts?: unknown } | null)?.attempts;
  return Array.isArray(attempts) ? (attempts as GatewayAttempt[]) : [];
}

/** The HTTP status for a failed router call, from what its attempts failed with. */
function statusFor(error: unknown, attempts: GatewayAttempt[]): number {
  const own = (error as { code?: unknown } | null)?.code;
  if (own === 'DEADLINE_EXCEEDED') return 504;
  if (own === 'NO_PROVIDER') return 503;
  const codes = attempts.filter((a) => !a.ok).map((a) => a.error?.code ?? (error as { code?: string }).code);
  if (codes.length === 0) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'BAD_REQUEST' || code === 'UNSUPPORTED' || code === 'CONFIG_INVALID') return 400;
    if (code === 'MODEL_NOT_FOUND') return 404;
    return 503;
  }
  if (codes.every((c) => c === 'BAD_REQUEST' || c === 'UNSUPPORTED')) return 400;
  // Nothing was even sent (no key, breakers open, providers reported down): unavailable, not a bad gateway.
  if (attempts.every((a) => a.ok || a.skipped)) return 503;
  const last = codes[codes.length - 1];
  if (last === 'RATE_LIMITED') return 429;
  if (last === 'TIMEOUT') return 504;
  return 502;
}

/** Any failure of a chat request as a GatewayError with a status and a message naming each attempt. */
export function toGatewayError(error: unknown): GatewayError {
  if (GatewayError.isInstance(error)) return error;
  if (!UnityError.isInstance(error)) {
    return new GatewayError({
      code: 'INTERNAL_ERROR',
      status: 500,
      message: `internal error: ${describeError(error)}`,
      cause: error,
    });
  }
  const attempts = attemptsOf(error);
  const param = (error as { param?: unknown }).param;
  if (error.code === 'INVALID_REQUEST' || error.code === 'UNSUPPORTED_PARAMETER') {
    // The request is at fault, not an upstream: 400 naming the field as clients send it (`top_k`, `tool_choice`).
    return new GatewayError({
      code: error.code,
      status: 400,
      message: error.message,
      ...(error.fix ? { fix: error.fix } : {}),
      ...(typeof param === 'string' ? { param: snakeCase(param) } : {}),
      cause: error,
    });
  }
  const status = statusFor(error, attempts);
  return new GatewayError({
    code: 'UPSTREAM_FAILED',
    status,
    message: describeError(error),
    cause: error,
  });
}

/** `topK` → `top_k`: the router's field names as the wire protocols spell them. */
const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * `minimax/MiniMax-M2 SERVER_ERROR, ollama_chat/qwen2.5-coder:7b ok`: the x-unity-attempts header (each attempt's
 * model string, which names its provider, and how it went).
 */
export function attemptsHeader(attempts: readonly GatewayAttempt[]): string {
  return attempts.map((a) => `${a.model} ${a.ok ? 'ok' : (a.error?.code ?? 'failed')}`).join(', ');
}
