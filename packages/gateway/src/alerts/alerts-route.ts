import type { FastifyInstance } from 'fastify';
import type { AlertsView } from './alert-manager';
import type { ActiveAlert, AlertNotification } from './alert-state';

/** The body of `GET /api/alerts`. */
export interface AlertsListing {
  /** The configured rules' names (empty: alerting is off). */
  rules: string[];
  /** The alerts active now, oldest first. */
  active: ActiveAlert[];
  /** Recent notifications (fired, repeat, resolved) after `?after=<seq>`, oldest first. */
  events: AlertNotification[];
  /** The last notification's number (0 before any): pass it as `?after=` to get only newer ones. */
  last_seq: number;
}

/**
 * `GET /api/alerts`: the active alerts and the recent notifications. Read-only — rules and webhooks come from the
 * config file, and no endpoint changes them. Behind the same key check as every endpoint but /healthz (the master
 * key; a virtual key is refused).
 */
export function registerAlertsRoute(app: FastifyInstance, alerts: AlertsView | undefined): void {
  app.get<{ Querystring: { after?: string } }>('/api/alerts', async (request): Promise<AlertsListing> => {
    const after = Math.max(0, Math.floor(Number(request.query.after) || 0));
    const all = alerts?.recent(0) ?? [];
    return {
      rules: alerts?.rules() ?? [],
      active: alerts?.active() ?? [],
      events: all.filter((n) => n.seq > after),
      last_seq: all.at(-1)?.seq ?? 0,
    };
  });
}
