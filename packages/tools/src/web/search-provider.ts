import { describeError } from '@unity/core';
import type { z } from 'zod';
import { ToolError } from '../errors';

export interface WebSearchResult {
  title: string;
  url: string;
  snippet: string;
}

/** A web search service. Implementations throw `ToolError`s (`TIMEOUT`, `UPSTREAM_FAILED`) that say what failed. */
export interface WebSearchProvider {
  readonly name: string;
  search(query: string, options: { max: number; signal?: AbortSignal }): Promise<WebSearchResult[]>;
}

/**
 * GET a JSON document with a timeout, validated by `schema`. Every failure (refused connection, timeout, HTTP error,
 * malformed JSON, unexpected shape) becomes a `ToolError` naming the provider, the URL's origin and the setting.
 */
export async function fetchJson<T>(
  provider: string,
  url: URL,
  init: { headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal; schema: z.ZodType<T> },
): Promise<T> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  const where = `${provider} at ${url.origin}`;
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...init.headers }, signal });
    body = await response.text();
  } catch (error) {
    if (timeout.aborted) {
      throw new ToolError({
        code: 'TIMEOUT',
        message: `web_search: ${where} did not answer within ${init.timeoutMs} ms (webSearch.timeoutMs)`,
        fix: 'try again later, or raise webSearch.timeoutMs',
        cause: error,
      });
    }
    init.signal?.throwIfAborted();
    throw new ToolError({
      code: 'UPSTREAM_FAILED',
      message: `web_search: could not reach ${where}: ${describeError((error as Error).cause ?? error)}`,
      fix: 'check that the search service runs and its URL is right',
      cause: error,
    });
  }
  if (!response.ok) {
    const hint =
      response.status === 429
        ? 'rate limited: wait before searching again'
        : response.status === 401 || response.status === 403
          ? 'check the API key'
          : 'the service failed; try again later';
    throw new ToolError({
      code: 'UPSTREAM_FAILED',
      message: `web_search: ${where} answered HTTP ${response.status}`,
      fix: hint,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new ToolError({
      code: 'UPSTREAM_FAILED',
      message: `web_search: ${where} answered with malformed JSON`,
      fix: 'check that the URL points at the search API (SearXNG needs the json format enabled)',
      cause: error,
    });
  }
  const parsed = init.schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ToolError({
      code: 'UPSTREAM_FAILED',
      message: `web_search: ${where} answered with an unexpected shape (${issue?.path.join('.') || '(root)'}: ${issue?.message})`,
      fix: 'check that the URL points at the search API',
    });
  }
  return parsed.data;
}
