import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from './errors';

interface RequestLimitOptions {
  /** Requests served at once (/healthz and WebSocket upgrades are not counted). */
  maxConcurrentRequests: number;
  /** Request bodies being read at once. */
  maxConcurrentBodies: number;
  /** Paths whose requests are exempt from the idle (socket inactivity) timeout once their body is in. */
  idleExemptPaths: ReadonlySet<string>;
}

/** Sent as Retry-After with a 503 for a full gateway. */
const retryAfterSeconds = 1;

const bodyReleased = Symbol('unity.bodyReleased');
type Tracked = IncomingMessage & { [bodyReleased]?: () => void };

const pathOf = (request: FastifyRequest) => request.url.split('?')[0] ?? '';

/** A request that carries a body (a length above 0, or chunked). */
function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return (length !== undefined && length !== '0') || raw.headers['transfer-encoding'] !== undefined;
}

function overloaded(what: string, setting: string, limit: number): GatewayError {
  return new GatewayError({
    code: 'OVERLOADED',
    status: 503,
    message: `the gateway is at its limit of ${limit} ${what} at once (${setting})`,
    fix: `retry after ${retryAfterSeconds} s, or raise ${setting} in the config`,
    retryAfterSeconds,
  });
}

/**
 * Caps what one gateway holds at once: requests in progress and request bodies being read into memory. A request
 * beyond either cap gets 503 with Retry-After at once, before the API-key check and before its body is read; the
 * counts drop when each response closes, however it ends. Also lifts the socket's idle timeout from the chat
 * endpoints once their body is in: the router's own timeouts bound them, and a stream may be silent for long.
 */
export function registerRequestLimits(app: FastifyInstance, options: RequestLimitOptions): void {
  let requests = 0;
  let bodies = 0;

  app.addHook('onRequest', (request, reply, done) => {
    if (pathOf(request) === '/healthz' || request.headers.upgrade) return done();
    if (requests >= options.maxConcurrentRequests) {
      return done(overloaded('concurrent requests', 'server.max_concurrent_requests', options.maxConcurrentRequests));
    }
    requests++;
    reply.raw.once('close', () => requests--);
    done();
  });

  app.addHook('preParsing', (request, reply, payload, done) => {
    const raw = request.raw as Tracked;
    if (!hasBody(raw)) return done(null, payload);
    if (bodies >= options.maxConcurrentBodies) {
      // The unread body cannot be skipped safely on this connection: close it after the answer.
      reply.header('connection', 'close');
      return done(overloaded('request bodies in memory', 'server.max_concurrent_bodies', options.maxConcurrentBodies));
    }
    bodies++;
    let held = true;
    const release = () => {
      if (held) bodies--;
      held = false;
    };
    raw[bodyReleased] = release;
    reply.raw.once('close', release);
    done(null, payload);
  });

  app.addHook('preHandler', (request, _reply, done) => {
    (request.raw as Tracked)[bodyReleased]?.();
    if (options.idleExemptPaths.has(pathOf(request))) request.raw.socket?.setTimeout(0);
    done();
  });
}
