import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

interface RequestSpan {
  span: Span;
  context: Context;
  /** The gateway's error code (`INVALID_JSON`, `UPSTREAM_FAILED` …) of a failed request. */
  errorCode?: string;
}

/**
 * One SERVER span per HTTP request (`POST /v1/chat/completions`), the parent of whatever the handler does (the
 * router's request span): started when the request is routed, made the active context for the handler, ended when
 * the response is closed, with the status code. An incoming W3C `traceparent` makes it a child of the caller's span
 * (when the trace-context propagator is registered, as `startTracing` does). WebSocket upgrades are not traced.
 * Register it first, so that its span covers the other hooks too.
 */
export function registerRequestTracing(app: FastifyInstance, tracer: Tracer): void {
  const spans = new WeakMap<FastifyRequest, RequestSpan>();

  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.headers.upgrade) {
      done();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0] ?? request.url,
          ...(route ? { 'http.route': route } : {}),
          'url.scheme': request.protocol,
          'network.protocol.version': request.raw.httpVersion,
          ...(request.ip ? { 'client.address': request.ip } : {}),
          ...(request.headers['user-agent'] ? { 'user_agent.original': request.headers['user-agent'] } : {}),
        },
      },
      parent,
    );
    const traced: RequestSpan = { span, context: trace.setSpan(parent, span) };
    spans.set(request, traced);
    reply.raw.once('close', () => {
      const status = reply.raw.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (traced.errorCode) span.setAttribute('unity.error.code', traced.errorCode);
      if (!reply.raw.writableFinished) span.setAttribute('unity.http.aborted', true);
      // A server span is failed by a 5xx only: a 4xx is the client's mistake (OpenTelemetry's HTTP conventions).
      if (status >= 500) {
        span.setAttribute('error.type', traced.errorCode ?? String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
    done();
  });

  // The handler runs synchronously from the last preHandler's callback: calling it inside the span's context makes
  // the span the active one for everything the handler starts (router calls, their spans).
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = spans.get(request);
    if (traced) context.with(traced.context, done);
    else done();
  });

  // Only the code: a message may quote what the client or an upstream sent.
  app.addHook('onError', (request, _reply, error, done) => {
    const traced = spans.get(request);
    const code = (error as { code?: unknown }).code;
    if (traced && typeof code === 'string') traced.errorCode = code;
    done();
  });
}
