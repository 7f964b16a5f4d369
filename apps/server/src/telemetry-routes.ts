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

export interface TelemetryDeps {
  bus: EventBus;
  metrics: GatewayMetrics;
  readiness: () => Readiness | Promise<Readiness>;
  startedAt: number;
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
    for (const event of deps.bus.recent()) send(event);
    const unsubscribe = deps.bus.subscribe(send);
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    // Any connected (and, off loopback, authenticated) process may publish `{ "type": "client.<name>", ...payload }`;
    // the server's own event types are refused, and the server stamps the time.
    socket.on('message', (data: unknown) => {
      const event = parseClientEvent(String(data));
      if (event.ok) deps.bus.publish(event.type, event.payload);
      else socket.send(JSON.stringify({ type: 'error', ts: Date.now(), message: event.message }));
    });
  });
}
