// Tests declare which matrix cell they prove: `works(...)` asserts that a call succeeds (its body asserts the answer),
// `refused(...)` that it fails with a clear 4xx naming what is unsupported. Each records its cell in the test's meta,
// which matrix-reporter.ts turns into MATRIX.md, so the matrix says only what a passing test showed.
import { expect, it } from 'vitest';
import type { Client, FeatureOf } from './plan';

export interface Cell {
  client: Client;
  feature: string;
  outcome: 'works' | 'error';
  /** For `error`: the HTTP status the client saw and the gateway's message. */
  status?: number;
  message?: string;
}

declare module 'vitest' {
  interface TaskMeta {
    cell?: Cell;
  }
}

/** A call through `client` that works; `behaviour` says what the test checks. */
export function works<C extends Client>(
  client: C,
  feature: FeatureOf<C>,
  behaviour: string,
  fn: () => Promise<void>,
): void {
  it(`${client} · ${feature}: ${behaviour}`, async ({ task }) => {
    await fn();
    task.meta.cell = { client, feature, outcome: 'works' };
  });
}

/**
 * A call through `client` that the gateway refuses with a 4xx whose message matches `names` (what is unsupported).
 * `fn` makes the call; it must throw the client's own error.
 */
export function refused<C extends Client>(
  client: C,
  feature: FeatureOf<C>,
  behaviour: string,
  names: RegExp,
  fn: () => Promise<unknown>,
): void {
  it(`${client} · ${feature}: ${behaviour}`, async ({ task }) => {
    const error = await fn().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'expected the call to fail with a 4xx').toBeDefined();
    const { status, message } = describeClientError(error);
    expect(status, `status of: ${message}`).toBeGreaterThanOrEqual(400);
    expect(status, `status of: ${message}`).toBeLessThan(500);
    expect(message).toMatch(names);
    task.meta.cell = { client, feature, outcome: 'error', status, message };
  });
}

/**
 * The HTTP status and the server's message from any of the clients' errors: openai/@anthropic-ai/sdk `APIError`
 * (`status`, `error`), the AI SDK's `APICallError` (`statusCode`, `responseBody`), ollama's `ResponseError`
 * (`status_code`, `error`), LangChain (which rethrows openai's errors, sometimes as `cause`).
 */
function describeClientError(error: unknown): { status: number | undefined; message: string } {
  let e = error as Record<string, unknown> | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    const status = [e.status, e.statusCode, e.status_code].find((s): s is number => typeof s === 'number');
    if (status !== undefined) return { status, message: serverMessage(e) };
    e = (e.lastError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return { status: undefined, message: error instanceof Error ? error.message : String(error) };
}

function serverMessage(e: Record<string, unknown>): string {
  if (typeof e.responseBody === 'string') {
    try {
      return messageOf(JSON.parse(e.responseBody)) ?? e.responseBody;
    } catch {
      return e.responseBody;
    }
  }
  return messageOf({ error: e.error }) ?? String(e.message);
}

/** `{error: {message}}` (OpenAI, and Anthropic's `{type: 'error', error: {message}}`) or `{error: "…"}` (Ollama). */
function messageOf(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  const nested = (error as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof nested === 'string' ? nested : undefined;
}
