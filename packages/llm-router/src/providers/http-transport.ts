import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher, interceptors } from 'undici';

interface HttpTransportOptions {
  /** The upstream's address (`https://api.minimax.io/v1`); request paths are appended to its path. */
  baseUrl: string;
  /** Headers sent with every request, built once by the provider (lower-case names). */
  headers: Readonly<Record<string, string>>;
  /**
   * undici's headers and body timeouts in ms. Default 0: off, for callers that bound every request through its signal
   * (the router does, per attempt).
   */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Redirects followed (default 0: a redirect is answered as it is). */
  maxRedirections?: number;
}

/** The answer to a request: status, headers (lower-case names) and undici's body, to be read or destroyed. */
export type HttpResponse = Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'>;

/**
 * One upstream's HTTP connections: a keep-alive pool created once, requests sent with `request` (no WHATWG
 * fetch/Response on the way), headers and origin resolved once. The caller's signal cancels a request at any point,
 * the body included; whoever receives a response reads its body to the end or destroys it, so the socket goes back
 * to the pool or is closed.
 */
export class HttpTransport {
  private readonly agent: Agent;
  /** The agent behind undici's redirect interceptor, for the rare request answered with a redirect. */
  private readonly following: Dispatcher | undefined;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Readonly<Record<string, string>>;
  /** Why `baseUrl` cannot be used: every request fails with it, as a connection failure would. */
  private readonly invalid: Error | undefined;

  constructor(options: HttpTransportOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch (error) {
      this.invalid = error instanceof Error ? error : new TypeError(String(error));
      url = new URL('http://invalid.invalid');
    }
    this.origin = url.origin;
    this.basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    this.headers = options.headers;
    this.agent = new Agent({
      headersTimeout: options.headersTimeoutMs ?? 0,
      bodyTimeout: options.bodyTimeoutMs ?? 0,
    });
    // Not composed into every request: the interceptor's handler wrapping costs more CPU than the rest of the request.
    this.following = options.maxRedirections
      ? this.agent.compose(interceptors.redirect({ maxRedirections: options.maxRedirections }))
      : undefined;
  }

  /** The request path for an endpoint under the base (`/chat/completions` → `/v1/chat/completions`). */
  path(endpoint: string): string {
    return `${this.basePath}${endpoint}`;
  }

  /**
   * POST a JSON text to `path` (from `path()`). Rejects with undici's error when no response arrives. A redirect is
   * followed, when `maxRedirections` allows, by sending the request again through undici's redirect interceptor.
   */
  async post(path: string, body: string, signal: AbortSignal | undefined): Promise<HttpResponse> {
    if (this.invalid) throw this.invalid;
    const options = { origin: this.origin, path, method: 'POST' as const, headers: this.headers, body, signal };
    const response = await this.agent.request(options);
    if (!this.following || !redirectStatuses.has(response.statusCode) || !response.headers.location) return response;
    await response.body.dump();
    return this.following.request(options);
  }

  /** Close the pooled connections once their requests are done. */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The statuses undici's redirect interceptor follows. */
const redirectStatuses = new Set([300, 301, 302, 303, 307, 308]);

/** The user agent the providers send. */
export const userAgent = 'unity-llm-router';

/** True for a 2xx status. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** A header's value, repeated values joined as `fetch` joins them. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** undici's response headers with `get()`, for code written against `fetch`'s `Headers` (Retry-After parsing). */
export function headerSource(headers: IncomingHttpHeaders): { get(name: string): string | null } {
  return { get: (name) => headerValue(headers, name.toLowerCase()) };
}

/** True when the response declares a JSON body (`application/json`, `…+json`). */
export function isJsonResponse(headers: IncomingHttpHeaders): boolean {
  const type = headerValue(headers, 'content-type');
  if (!type) return false;
  const media = type.split(';')[0]!.trim();
  return media.includes('application/json') || media.endsWith('+json');
}

/** The whole body as text; the failure's message as the text when it cannot be read (for error bodies). */
export async function readErrorBody(response: HttpResponse): Promise<{ text: string; failed: boolean }> {
  try {
    return { text: await response.body.text(), failed: false };
  } catch (error) {
    return { text: error instanceof Error ? error.message : String(error), failed: true };
  }
}

/**
 * Release a response body that may not have been read to its end: destroying it closes the connection (and tells the
 * upstream to stop); a body already read to its end is left alone, its socket back in the pool.
 */
export function releaseBody(response: HttpResponse): void {
  const body = response.body;
  if (!body.destroyed && !body.readableEnded) body.destroy();
}
