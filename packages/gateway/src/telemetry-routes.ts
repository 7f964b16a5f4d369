import type { FastifyInstance } from 'fastify';
import { parseClientEvent } from './client-event';
import type { BusEvent, EventBus } from './event-bus';
import type { GatewayMetrics } from './metrics';

/** What /readyz reports: ready when at least one provider can serve. */
export interface Readiness {
  ready: boolean;
  /** Per provider (or check) detail shown in the body. */
  providers: Record<string, { available: boolean; detail?: string }>;
}

interface TelemetryDeps {
  bus: EventBus;
  metrics: GatewayMetrics;
  readiness: () => Readiness | Promise<Readiness>;
  startedAt: number;
  /** Messages a /ws client may send per second, in bursts up to as many; beyond it the connection is closed. */
  wsMessagesPerSecond: number;
  /** How many recent events a new /ws client receives first. */
  wsBacklogEvents: number;
}

/** WebSocket close code for a policy violation (RFC 6455): used when a client sends too fast. */
const policyViolation = 1008;

/**
 * A token bucket: `rate` tokens a second, holding at most `rate` (one second of burst). `take()` is false when the
 * bucket is empty.
 */
function tokenBucket(rate: number, now: () => number = Date.now): { take(): boolean } {
  let tokens = rate;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(rate, tokens + ((t - last) / 1000) * rate);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/** A WebSocket client that reads slower than events come is skipped above this much unsent data. */
const maxBufferedBytes = 1 << 20;

/** /healthz, /readyz, /metrics, /audit (the last requests and who served them) and the live event WebSocket /ws. */
export function registerTelemetryRoutes(app: FastifyInstance, deps: TelemetryDeps): void {
  app.get('/healthz', async () => ({
    status: 'ok',
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
  }));

  app.get('/readyz', async (_request, reply) => {
    const readiness = await deps.readiness();
    reply.code(readiness.ready ? 200 : 503);
    return { status: readiness.ready ? 'ready' : 'unavailable', providers: readiness.providers };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.text();
  });

  app.get<{ Querystring: { limit?: string } }>('/audit', async (request) => {
    const limit = Math.min(500, Math.max(1, Number(request.query.limit) || 100));
    return {
      requests: deps.bus
        .recent()
        .filter((e) => e.type === 'request.end')
        .slice(-limit),
    };
  });

  app.get('/ws', { websocket: true }, (socket) => {
    const send = (event: BusEvent) => {
      if (socket.readyState === socket.OPEN && socket.bufferedAmount < maxBufferedBytes) {
        socket.send(JSON.stringify(event));
      }
    };
    for (const event of deps.bus.backlog(deps.wsBacklogEvents)) send(event);
    const unsubscribe = deps.bus.subscribe(send);
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    // Any connected (and, off loopback, authenticated) process may publish `{ "type": "client.<name>", ...payload }`;
    // the server's own event types are refused, and the server stamps the time. Client events go to their own ring.
    // Messages above server.ws_max_message_bytes close the connection in the ws library itself (1009).
    const bucket = tokenBucket(deps.wsMessagesPerSecond);
    socket.on('message', (data: unknown) => {
      if (socket.readyState !== socket.OPEN) return;
      if (!bucket.take()) {
        socket.close(
          policyViolation,
          `rate limit: more than ${deps.wsMessagesPerSecond} messages a second (server.ws_messages_per_second)`,
        );
        return;
      }
      const event = parseClientEvent(String(data));
      if (event.ok) deps.bus.publishClient(event.type, event.payload);
      else socket.send(JSON.stringify({ type: 'error', ts: Date.now(), message: event.message }));
    });
  });
}
