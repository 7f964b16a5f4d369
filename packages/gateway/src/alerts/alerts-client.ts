import { isLoopbackHost } from '@unity/core';
import type { AlertNotification } from './alert-state';
import type { AlertsListing } from './alerts-route';

/** One look at a gateway's alerts: the listing and the notifications not seen before, or why it failed. */
export type AlertsPoll =
  | { ok: true; listing: AlertsListing; news: AlertNotification[] }
  | { ok: false; message: string; fix: string };

export interface GatewayAlertsClientOptions {
  /** The gateway, `http://127.0.0.1:8787`. */
  url: string;
  /** The gateway's master key, when it has one. */
  apiKey?: string;
  /** How long one request may take (default 5000 ms). */
  timeoutMs?: number;
}

/** The address of a gateway from its `server:` settings (a wildcard host is reached on loopback). */
export function gatewayUrlOf(server: { host: string; port: number }): string {
  const host = server.host === '0.0.0.0' || server.host === '::' ? '127.0.0.1' : server.host;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${server.port}`;
}

/** The gateway's master key from its `server:` settings and the environment the app passes. */
export function gatewayApiKeyOf(
  server: { api_key?: string | undefined; api_key_env: string },
  env: Record<string, string | undefined>,
): string | undefined {
  return server.api_key ?? env[server.api_key_env] ?? undefined;
}

/**
 * Reads `GET /api/alerts` of a running gateway and tells, at each poll, the notifications (fired, repeat, resolved)
 * made since the previous one. The first poll reports none: what is active is in its listing. A gateway that restarted
 * (its notification numbers went back) is read from its beginning.
 */
export class GatewayAlertsClient {
  private lastSeq: number | undefined;
  private readonly url: string;

  constructor(private readonly options: GatewayAlertsClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
  }

  async poll(signal?: AbortSignal): Promise<AlertsPoll> {
    const first = await this.fetchListing(this.lastSeq ?? 0, signal);
    if (!first.ok) return first;
    let listing = first.listing;
    let news: AlertNotification[] = [];
    if (this.lastSeq === undefined) {
      news = [];
    } else if (listing.last_seq < this.lastSeq) {
      const again = await this.fetchListing(0, signal);
      if (!again.ok) return again;
      listing = again.listing;
      news = listing.events;
    } else {
      news = listing.events.filter((n) => n.seq > (this.lastSeq ?? 0));
    }
    this.lastSeq = listing.last_seq;
    return { ok: true, listing, news };
  }

  private async fetchListing(
    after: number,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; listing: AlertsListing } | { ok: false; message: string; fix: string }> {
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
    let response: Response;
    try {
      response = await fetch(`${this.url}/api/alerts?after=${after}`, {
        headers: this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {},
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const timedOut = (error as Error).name === 'TimeoutError';
      const host = new URL(this.url).hostname;
      return {
        ok: false,
        message: `cannot reach the gateway at ${this.url}: ${timedOut ? `no answer within ${timeoutMs} ms` : (cause ?? (error as Error).message)}`,
        fix: isLoopbackHost(host)
          ? 'start it with `unity serve`, or name another one with --gateway URL'
          : 'check that it runs and that this machine may reach it, or name another one with --gateway URL',
      };
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      return {
        ok: false,
        message: `the gateway at ${this.url} refused to list its alerts (${response.status}): ${this.options.apiKey ? 'the key sent is not its master key' : 'it requires its master key'}`,
        fix: "set the gateway's master key in the variable named by server.api_key_env (UNITY_API_KEY by default)",
      };
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return {
        ok: false,
        message: `the gateway at ${this.url} answered ${response.status} to GET /api/alerts`,
        fix:
          response.status === 404
            ? 'update the gateway: this version has no alerts endpoint'
            : 'see the gateway’s own output for the cause',
      };
    }
    try {
      const listing = (await response.json()) as AlertsListing;
      if (!Array.isArray(listing.active) || !Array.isArray(listing.events)) throw new Error('not a listing');
      return { ok: true, listing };
    } catch {
      return {
        ok: false,
        message: `${this.url} answered GET /api/alerts with something other than a list of alerts`,
        fix: 'check that --gateway names a Unity gateway',
      };
    }
  }
}
