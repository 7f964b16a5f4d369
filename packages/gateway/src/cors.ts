import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** `server.cors`: which browser origins may call the gateway. */
export interface CorsSettings {
  /** Allowed origins (`https://app.example.com`), or `*` for any. Empty: CORS off. */
  origins: readonly string[];
  /** Request headers allowed beyond `corsRequestHeaders`. */
  allow_headers?: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds (default 600). */
  max_age_seconds?: number;
  /** Allow cookies and HTTP auth (never with `*`). */
  credentials?: boolean;
}

/**
 * The request headers browser clients of the served APIs send: the gateway's key (`authorization`, `x-api-key`),
 * Anthropic's version and beta headers, and those the OpenAI and Anthropic SDKs add (`x-stainless-*`).
 */
const corsRequestHeaders = [
  'authorization',
  'content-type',
  'x-api-key',
  'anthropic-version',
  'anthropic-beta',
  'anthropic-dangerous-direct-browser-access',
  'openai-organization',
  'openai-project',
  'x-stainless-arch',
  'x-stainless-async',
  'x-stainless-helper-method',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
];

/** The response headers a browser app may read: who served (`x-unity-*`), the request id, `retry-after`. */
const corsExposedHeaders = [
  'x-request-id',
  'x-unity-provider',
  'x-unity-model',
  'x-unity-attempts',
  'x-unity-version',
  'retry-after',
];

/** `@fastify/cors`'s options for the settings: the origins, methods, headers and preflight cache. */
export function corsOptions(settings: CorsSettings): FastifyCorsOptions {
  const any = settings.origins.includes('*');
  return {
    // `*` for any origin; else the request's origin echoed only when it is listed (with `Vary: Origin`).
    origin: any ? '*' : [...settings.origins],
    methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowedHeaders: [
      ...new Set([...corsRequestHeaders, ...(settings.allow_headers ?? []).map((h) => h.toLowerCase())]),
    ],
    exposedHeaders: corsExposedHeaders,
    credentials: settings.credentials ?? false,
    maxAge: settings.max_age_seconds ?? 600,
    strictPreflight: true,
    hook: 'onRequest',
  };
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(request: FastifyRequest): boolean {
  return (
    request.method === 'OPTIONS' &&
    request.headers.origin !== undefined &&
    request.headers['access-control-request-method'] !== undefined
  );
}

/**
 * Copy the CORS headers the plugin set on the reply onto the raw response, so that answers written straight to the
 * socket (chat answers and streams, pulls) carry them too: Node merges them into `writeHead`.
 */
export function mirrorCorsHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined && (name.startsWith('access-control-') || name === 'vary'))
      reply.raw.setHeader(name, value);
  }
}
