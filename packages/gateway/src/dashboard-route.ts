import type { FastifyInstance } from 'fastify';
import { dashboardPage } from './dashboard-page';

/** GET / : the live dashboard. */
export function registerDashboardRoute(app: FastifyInstance): void {
  app.get('/', async (_request, reply) => {
    reply.header('content-type', 'text/html; charset=utf-8');
    reply.header('cache-control', 'no-store');
    return dashboardPage;
  });
}
