import { describeError } from '@unity/core';

/** What one HTTP probe found. Checks turn each kind into a status, a message and a fix. */
export type ProbeResult =
  | { kind: 'ok'; status: number; body: unknown }
  /** The server answered with an error status; `message` quotes its error body. */
  | { kind: 'http-error'; status: number; message: string }
  /** The server answered 2xx with a body that is not JSON. */
  | { kind: 'malformed'; status: number; message: string }
  /** No answer: connection refused or reset, DNS failure. */
  | { kind: 'unreachable'; message: string }
  | { kind: 'timeout'; timeoutMs: number };

export interface ProbeOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  headers?: Record<string, string>;
  /** Give up after this long (the check names the option in its message). */
  timeoutMs: number;
  /** The caller's signal: aborting it rejects, unlike the timeout. */
  signal?: AbortSignal;
}

/** One JSON request with a timeout; every failure is returned as a kind, only the caller's abort throws. */
export async function probeJson(url: string, options: ProbeOptions): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) return { kind: 'timeout', timeoutMs: options.timeoutMs };
    const cause = (error as { cause?: unknown }).cause;
    return { kind: 'unreachable', message: describeError(cause ?? error) };
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    if (response.ok) return { kind: 'malformed', status: response.status, message: snippet(text) };
    return { kind: 'http-error', status: response.status, message: snippet(text) };
  }
  if (!response.ok)
    return { kind: 'http-error', status: response.status, message: errorMessage(body) ?? snippet(text) };
  return { kind: 'ok', status: response.status, body };
}

/** `{"error": "..."}` (Ollama) or `{"error": {"message": "..."}}` (OpenAI). */
function errorMessage(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat || '(empty body)';
}

/** A probe failure as a sentence: `connection refused (connect ECONNREFUSED …)`, `no answer within 2000 ms`. */
export function describeProbeFailure(result: Exclude<ProbeResult, { kind: 'ok' }>, timeoutOption: string): string {
  switch (result.kind) {
    case 'http-error':
      return `HTTP ${result.status}: ${result.message}`;
    case 'malformed':
      return `HTTP ${result.status} with a body that is not JSON: ${result.message}`;
    case 'unreachable':
      return result.message;
    case 'timeout':
      return `no answer within ${result.timeoutMs} ms (${timeoutOption})`;
  }
}
