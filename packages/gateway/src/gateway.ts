import { readFileSync } from 'node:fs';
import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import type { Tracer } from '@opentelemetry/api';
import { describeError, isLoopbackHost, Redactor } from '@unity/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AlertsView } from './alerts/alert-manager';
import { registerAlertsRoute } from './alerts/alerts-route';
import { registerAnthropicRoutes } from './anthropic-routes';
import { anthropicErrorBody } from './anthropic-wire';
import { ApiKeyCheck } from './api-key';
import type { ExchangeDeps } from './chat-exchange';
import { type CorsSettings, corsOptions, isPreflight, mirrorCorsHeaders } from './cors';
import { registerDashboardRoute } from './dashboard-route';
import { type GatewayEmbedder, registerEmbeddingsRoutes } from './embeddings-routes';
import { GatewayError, redactGatewayError } from './errors';
import { EventBus } from './event-bus';
import type { GatewayRouter } from './gateway-router';
import { InflightRequests } from './inflight';
import { jsonNestsDeeperThan } from './json-depth';
import { registerAdminRoutes } from './keys/admin-routes';
import { registerKeyAuth } from './keys/key-auth';
import type { VirtualKeys } from './keys/virtual-keys';
import { GatewayMetrics } from './metrics';
import { type CatalogModel, ModelCatalog } from './model-catalog';
import { registerOllamaRoutes } from './ollama-routes';
import { ollamaErrorBody } from './ollama-wire';
import { registerOpenAIRoutes } from './openai-routes';
import { openaiErrorBody } from './openai-wire';
import { registerRequestLimits } from './request-limits';
import { registerRequestTracing } from './request-tracing';
import { registerResponsesRoutes } from './responses-routes';
import { registerRunsRoutes } from './run-report/runs-routes';
import { ServingContext } from './serving-context';
import { type Readiness, registerTelemetryRoutes } from './telemetry-routes';

export interface GatewayOptions {
  /** The router every chat request goes through. */
  router: GatewayRouter;
  /** Serves /v1/embeddings, /api/embed and /api/embeddings (`createEmbedder`); without it they answer 404. */
  embedder?: GatewayEmbedder;
  /** The model names served (see `catalogFromConfig`). */
  models: readonly CatalogModel[];
  /** Model-string patterns served on request beyond `models` (`server.serve_models`: `minimax/*`, `ollama_chat/*`). */
  servePatterns?: readonly string[];
  /** Cross-origin requests from browsers (`server.cors`); off when absent or without origins. */
  cors?: CorsSettings;
  /**
   * The master key: when set, every endpoint but /healthz requires it or a virtual key (which reaches the model
   * endpoints only). Required to listen on a non-loopback address, and for the admin API (/admin/*).
   */
  apiKey?: string;
  /**
   * Keys issued by the gateway (`openVirtualKeys`), each with its models, rpm, tpm and budget; once any exists, the
   * model endpoints require one (or the master key). Absent: only the master key.
   */
  virtualKeys?: VirtualKeys;
  /** Output tokens a keyed request without a maximum is reserved for (`server.estimate_output_tokens`, default 4096). */
  estimateOutputTokens?: number;
  /** Largest accepted request body, in bytes (default 8 MiB): larger ones get 413. */
  bodyLimit?: number;
  /** Unity's version, reported by /api/version as `unity_version` and `x-unity-version` (default: this package's). */
  version?: string;
  /** The event bus to stream on /ws (default: a new one). Publish to it to put anything on the live feed. */
  bus?: EventBus;
  /** What /readyz reports (default: ready when at least one model is served). */
  readiness?: () => Readiness | Promise<Readiness>;
  /** Include Node process metrics in /metrics (default true). */
  processMetrics?: boolean;
  /**
   * Values that must never appear in a response, an event, /audit, /readyz or /metrics (API keys, passwords written
   * into provider URLs), in any encoding; the API key is added, and URL credentials are redacted in any case. A `bus`
   * passed in is the caller's to redact (see EventBusOptions.transform).
   */
  secrets?: readonly string[];
  /** A connection whose request headers are not complete this long after it opened is closed (default 10 s). */
  headersTimeoutMs?: number;
  /** A request whose body is not complete this long after it began is closed (default 30 s; ≥ headersTimeoutMs). */
  bodyTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long without a new request (default 5 s). */
  keepAliveTimeoutMs?: number;
  /**
   * A connection that sends and receives nothing for this long is closed (default 120 s). Chat requests are exempt
   * once their body is in: the router's timeouts bound them, and streams may be silent for long.
   */
  idleTimeoutMs?: number;
  /** Requests served at once; beyond it, 503 with Retry-After (default 256). */
  maxConcurrentRequests?: number;
  /** Request bodies read into memory at once; beyond it, 503 with Retry-After (default 32). */
  maxConcurrentBodies?: number;
  /** How deep a JSON body may nest; deeper ones get 400 (default 64). */
  maxJsonDepth?: number;
  /** The largest /ws message, in bytes; a larger one closes the connection with 1009 (default 64 KiB). */
  wsMaxMessageBytes?: number;
  /** Messages a /ws client may send per second (bursts up to as many); beyond it, closed with 1008 (default 20). */
  wsMessagesPerSecond?: number;
  /** How many recent events a new /ws client receives first (default 200). */
  wsBacklogEvents?: number;
  /** The size of the client events' own ring, for the default bus (default 100). */
  clientEventBacklog?: number;
  /** Trace each HTTP request (a SERVER span, parent of the router's spans; `startTracing`); absent: no hook at all. */
  tracer?: Tracer;
  /** The alerts `GET /api/alerts` lists (`AlertManager`); without it, none. */
  alerts?: AlertsView;
}

export interface ShutdownOptions {
  /** How long in-flight requests may take to finish before they are cancelled (default 10 s). */
  drainTimeoutMs?: number;
}

export interface ShutdownResult {
  /** True when every in-flight request finished by itself within the deadline. */
  drained: boolean;
  /** Requests cancelled at the deadline. */
  cancelled: number;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly bus: EventBus;
  readonly metrics: GatewayMetrics;
  /** Chat requests being served right now. */
  readonly inflight: number;
  /**
   * Listen (default 127.0.0.1:8787) and resolve the address. A non-loopback host without an API key is refused
   * with a GatewayError (API_KEY_REQUIRED).
   */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /**
   * Stop accepting, let in-flight requests finish within the deadline, cancel the rest, close, and remove every
   * listener the gateway added to the router (the router outlives it; call this even if `listen` was never called).
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
}

export const defaultHost = '127.0.0.1';
export const defaultPort = 8787;

/** The defaults of the abuse limits (see GatewayOptions), the same as the `server:` config section's. */
const gatewayLimitDefaults = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  maxConcurrentRequests: 256,
  maxConcurrentBodies: 32,
  maxJsonDepth: 64,
  wsMaxMessageBytes: 64 * 1024,
  wsMessagesPerSecond: 20,
  wsBacklogEvents: 200,
  clientEventBacklog: 100,
} as const;

function asGatewayError(error: FastifyError): GatewayError {
  if (GatewayError.isInstance(error)) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError({
        code: 'INVALID_JSON',
        status: 400,
        message: `the request body is not valid JSON: ${error.message}`,
        fix: 'send a JSON object with Content-Type: application/json',
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError({
        code: 'BODY_TOO_LARGE',
        status: 413,
        message: 'the request body is larger than the gateway accepts',
        fix: 'send a smaller request, or raise server.body_limit_bytes in the config',
      });
  }
  if (error instanceof SyntaxError) {
    return new GatewayError({
      code: 'INVALID_JSON',
      status: 400,
      message: `the request body is not valid JSON: ${error.message}`,
    });
  }
  const status = error.statusCode ?? 500;
  if (status < 500) return new GatewayError({ code: 'INVALID_REQUEST', status, message: error.message });
  return new GatewayError({
    code: 'INTERNAL_ERROR',
    status: 500,
    message: `internal error: ${error.message}`,
    cause: error,
  });
}

/** This package's version (src/ and dist/ both sit one level below package.json). */
const serverVersion = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Router events worth a live event of their own (attempts travel inside each `request.end`). */
const forwardedRouterEvents = [
  'retry',
  'fallback',
  'breaker',
  'cache-hit',
  'compacted',
  'last-resort',
  'audit-error',
  'cache-error',
];

/** Publish the router's notable events on the bus as `router.<name>`, and keep the breaker gauge current. */
function forwardRouterEvents(router: GatewayRouter, bus: EventBus, metrics: GatewayMetrics): { stop(): void } {
  if (typeof router.on !== 'function') return { stop() {} };
  const listeners = forwardedRouterEvents.map((name) => {
    const listener = (payload: Record<string, unknown>) => {
      if (name === 'breaker') metrics.breakerChanged(String(payload.provider), String(payload.to));
      if (name === 'cache-error') metrics.routerCacheOutage(String(payload.store));
      const error = payload.error;
      bus.publish(`router.${name}`, error instanceof Error ? { ...payload, error: describeError(error) } : payload);
    };
    router.on?.(name, listener);
    return [name, listener] as const;
  });
  // The cache's verdict on each request feeds /metrics only: one event a request would flood the live feed.
  const cacheLookup = (payload: { layer?: string; semantic?: boolean }) => metrics.routerCacheLookup(payload);
  router.on?.('cache-lookup', cacheLookup);
  listeners.push(['cache-lookup', cacheLookup as (payload: Record<string, unknown>) => void]);
  return {
    stop() {
      for (const [name, listener] of listeners) router.off?.(name, listener);
    },
  };
}

/**
 * A refused WebSocket upgrade: its socket left the HTTP parser when the upgrade began, so it cannot carry another
 * request. Say so and close it once the error is sent, or a keep-alive client would wait on it forever.
 */
function closeRefusedUpgrade(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.headers.upgrade) return;
  reply.header('connection', 'close');
  reply.raw.once('finish', () => request.raw.socket.end());
}

const errorBodyFor = (url: string, error: GatewayError) =>
  url.startsWith('/api/')
    ? ollamaErrorBody(error)
    : /^\/v1\/messages(\/|\?|$)/.test(url)
      ? anthropicErrorBody(error)
      : openaiErrorBody(error);

/**
 * The gateway: OpenAI- and Ollama-compatible endpoints over the router, health, Prometheus metrics, the live event
 * WebSocket and the dashboard. It translates wire protocols to and from the router and does no routing of its own.
 */
/** The endpoints whose requests go to the router (by their metrics label), counted whatever their outcome. */
const chatEndpoints = new Map([
  ['/v1/chat/completions', 'openai.chat'],
  ['/v1/completions', 'openai.completions'],
  ['/v1/responses', 'openai.responses'],
  ['/v1/messages', 'anthropic.messages'],
  ['/api/chat', 'ollama.chat'],
  ['/api/generate', 'ollama.generate'],
]);

export function createGateway(options: GatewayOptions): Gateway {
  const limits = { ...gatewayLimitDefaults, ...definedOnly(options) };
  if (limits.bodyTimeoutMs < limits.headersTimeoutMs) {
    throw new GatewayError({
      code: 'INTERNAL_ERROR',
      status: 500,
      message: `bodyTimeoutMs (${limits.bodyTimeoutMs}) is shorter than headersTimeoutMs (${limits.headersTimeoutMs})`,
      fix: 'set server.body_timeout_seconds to at least server.headers_timeout_seconds',
    });
  }
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024,
    logger: false,
    return503OnClosing: true,
    // Node closes a connection whose headers (headersTimeout) or whole request (requestTimeout) are late, checking
    // every connectionsCheckingInterval; Fastify's connectionTimeout is the socket's inactivity timeout.
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.bodyTimeoutMs,
      connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    requestTimeout: limits.bodyTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
  });
  const startedAt = Date.now();
  const redactor = new Redactor([...(options.secrets ?? []), options.apiKey]);
  const bus =
    options.bus ??
    new EventBus({ clientBacklog: limits.clientEventBacklog, transform: (event) => redactor.value(event) });
  const metrics = new GatewayMetrics({ processMetrics: options.processMetrics ?? true });
  const inflight = new InflightRequests();
  const catalog = new ModelCatalog(options.models, { patterns: options.servePatterns ?? [] });
  const keyCheck = options.apiKey ? new ApiKeyCheck(options.apiKey) : undefined;
  const version = options.version ?? serverVersion;
  const deps: ExchangeDeps & { catalog: ModelCatalog; version: string } = {
    router: options.router,
    metrics,
    bus,
    inflight,
    serving: new ServingContext(options.router),
    redactor,
    catalog,
    version,
  };

  // Ollama's clients and curl do not always say application/json: read any body as JSON, refusing one nested deeper
  // than the limit before it is parsed.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', '*'], { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    if (jsonNestsDeeperThan(text, limits.maxJsonDepth)) {
      done(
        new GatewayError({
          code: 'JSON_TOO_DEEP',
          status: 400,
          message: `the request body nests JSON deeper than ${limits.maxJsonDepth} levels (server.max_json_depth)`,
          fix: 'send a flatter body, or raise server.max_json_depth in the config',
        }),
        undefined,
      );
      return;
    }
    parseJson(request, text, done);
  });

  // First of all hooks, so that a request's span covers the refusals too.
  if (options.tracer) registerRequestTracing(app, options.tracer);
  // Before the API-key check: a full gateway refuses at once, whoever asks.
  registerRequestLimits(app, {
    maxConcurrentRequests: limits.maxConcurrentRequests,
    maxConcurrentBodies: limits.maxConcurrentBodies,
    idleExemptPaths: new Set(chatEndpoints.keys()),
  });
  // Every body sent through Fastify (errors, /readyz, /metrics, /audit, answers) leaves without a secret in it.
  app.addHook('onSend', async (_request, _reply, payload) =>
    typeof payload === 'string' ? redactor.text(payload) : payload,
  );

  // CORS first, so that a refusal (401, 404, 503) carries its headers too and the browser app can read it.
  const corsEnabled = (options.cors?.origins.length ?? 0) > 0;
  if (options.cors && corsEnabled) {
    app.register(cors, corsOptions(options.cors));
    app.after(() => app.addHook('onRequest', async (_request, reply) => mirrorCorsHeaders(reply)));
  }
  // After the CORS plugin has loaded: hooks run in the order they are added.
  app.after(() =>
    registerKeyAuth(app, {
      master: keyCheck,
      keys: options.virtualKeys,
      catalog,
      estimateOutputTokens: options.estimateOutputTokens ?? 4096,
      // A browser's preflight never carries credentials: the CORS plugin answers it.
      skip: (request) => corsEnabled && isPreflight(request),
      onSettled: (event) => bus.publish('keys.settled', event),
    }),
  );
  registerAdminRoutes(app, { master: keyCheck, keys: options.virtualKeys });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const gatewayError = redactGatewayError(asGatewayError(error), redactor);
    if (gatewayError.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(gatewayError.retryAfterSeconds));
    if (gatewayError.headers) reply.headers(gatewayError.headers);
    const endpoint = chatEndpoints.get(request.url.split('?')[0] ?? '');
    if (endpoint) metrics.requestRejected(endpoint, gatewayError.status);
    closeRefusedUpgrade(request, reply);
    reply.code(gatewayError.status).send(errorBodyFor(request.url, gatewayError));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new GatewayError({
      code: 'NOT_FOUND',
      status: 404,
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    });
    closeRefusedUpgrade(request, reply);
    reply.code(404).send(errorBodyFor(request.url, error));
  });

  const forwarded = forwardRouterEvents(options.router, bus, metrics);

  app.register(websocket, { options: { maxPayload: limits.wsMaxMessageBytes } });
  app.register(async (scope) => {
    registerTelemetryRoutes(scope, {
      bus,
      metrics,
      startedAt,
      wsMessagesPerSecond: limits.wsMessagesPerSecond,
      wsBacklogEvents: limits.wsBacklogEvents,
      readiness: options.readiness ?? (() => ({ ready: catalog.list().length > 0, providers: {} })),
    });
    registerOpenAIRoutes(scope, deps);
    registerResponsesRoutes(scope, deps);
    registerAnthropicRoutes(scope, deps);
    registerOllamaRoutes(scope, deps);
    registerEmbeddingsRoutes(scope, { ...deps, embedder: options.embedder });
    registerDashboardRoute(scope);
    registerRunsRoutes(scope, { bus });
    registerAlertsRoute(scope, options.alerts);
  });

  return {
    app,
    bus,
    metrics,
    get inflight() {
      return inflight.size;
    },
    async listen({ host = defaultHost, port = defaultPort } = {}) {
      if (!isLoopbackHost(host) && !keyCheck) {
        throw new GatewayError({
          code: 'API_KEY_REQUIRED',
          status: 500,
          message: `refusing to listen on ${host} without an API key: anyone who can reach it could use your models`,
          fix: 'set UNITY_API_KEY (or server.api_key_env in the config), or listen on 127.0.0.1',
        });
      }
      try {
        return await app.listen({ host, port });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new GatewayError({
          code: 'LISTEN_FAILED',
          status: 500,
          message: `cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : describeError(error)}`,
          fix:
            code === 'EADDRINUSE'
              ? 'stop the other server, or pass --port with a free port'
              : 'check --host and --port',
          cause: error,
        });
      }
    },
    async shutdown({ drainTimeoutMs = 10_000 } = {}) {
      try {
        const closed = app.close();
        const drained = await inflight.idle(drainTimeoutMs);
        const cancelled = drained ? 0 : inflight.size;
        if (!drained) {
          inflight.abortAll(
            new GatewayError({ code: 'SHUTTING_DOWN', status: 503, message: 'the gateway is shutting down' }),
          );
          await inflight.idle(1_000);
        }
        app.server.closeAllConnections();
        await closed;
        return { drained, cancelled };
      } finally {
        forwarded.stop();
        deps.serving.close();
      }
    },
  };
}

/** The limit options that were given (an explicit `undefined` keeps the default). */
function definedOnly(options: GatewayOptions): Partial<Record<keyof typeof gatewayLimitDefaults, number>> {
  const out: Partial<Record<keyof typeof gatewayLimitDefaults, number>> = {};
  for (const key of Object.keys(gatewayLimitDefaults) as (keyof typeof gatewayLimitDefaults)[]) {
    const value = options[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
