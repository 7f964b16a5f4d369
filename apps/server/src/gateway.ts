import Fastify, { type FastifyInstance } from 'fastify';

export interface GatewayOptions {
  /** Largest accepted request body, in bytes (default 8 MiB). */
  bodyLimit?: number;
}

/** The gateway's HTTP application. Routes are registered here; `listen` is the caller's choice of host and port. */
export function createGateway(options: GatewayOptions = {}): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024, logger: false });
  const startedAt = Date.now();
  app.get('/healthz', async () => ({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }));
  return app;
}
