import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, sleep } from '@unity/test-kit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';
import type { AlertNotification } from './alert-state';
import { type AlertsPoll, GatewayAlertsClient, gatewayApiKeyOf, gatewayUrlOf } from './alerts-client';
import type { AlertsListing } from './alerts-route';

const master = 'master-key-of-the-alerts-client-test';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: { UNITY_API_KEY: master },
    extraYaml: [
      'alerts:',
      '  evaluation_interval_seconds: 0.05',
      '  rules:',
      '    - {name: errors, kind: error_rate, threshold_percent: 10, window_seconds: 1, min_requests: 1}',
      '',
    ].join('\n'),
  });
});
afterAll(() => h.close());

async function pollUntil(client: GatewayAlertsClient, want: (poll: AlertsPoll) => boolean): Promise<AlertsPoll> {
  const seen: AlertNotification[] = [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    const poll = await client.poll();
    if (poll.ok) seen.push(...poll.news);
    if (want(poll)) return poll.ok ? { ...poll, news: seen } : poll;
    if (Date.now() > deadline) throw new Error(`timed out; seen ${JSON.stringify(seen)}`);
    await sleep(50);
  }
}

describe('GET /api/alerts and GatewayAlertsClient', () => {
  it('reports the notifications made since the previous poll, none at the first', async () => {
    const client = new GatewayAlertsClient({ url: `${h.url}/`, apiKey: master });
    const first = await client.poll();
    expect(first).toMatchObject({ ok: true, news: [], listing: { rules: ['errors'], active: [] } });

    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: master, maxRetries: 0 });
    h.local.enqueue({ fault: 'status', status: 500 });
    await openai.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'x' }] }).catch(() => 0);

    const fired = await pollUntil(client, (p) => p.ok && p.news.some((n) => n.transition === 'fired'));
    expect(fired.ok && fired.listing.active.map((a) => a.id)).toEqual(['errors']);
    const resolved = await pollUntil(client, (p) => p.ok && p.news.some((n) => n.transition === 'resolved'));
    expect(resolved.ok && resolved.news.map((n) => n.transition)).toEqual(['resolved']);
    expect(resolved.ok && resolved.listing.active).toEqual([]);
    // Nothing new since.
    expect(await client.poll()).toMatchObject({ ok: true, news: [] });
  });

  it('is refused without the master key, and to a virtual key, with the fix', async () => {
    expect((await fetch(`${h.url}/api/alerts`)).status).toBe(401);
    const none = await new GatewayAlertsClient({ url: h.url }).poll();
    expect(none).toMatchObject({ ok: false, message: expect.stringContaining('requires its master key') });
    expect(none.ok || none.fix).toContain('server.api_key_env');

    const created = await fetch(`${h.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'app' }),
    });
    const { key } = (await created.json()) as { key: string };
    expect((await fetch(`${h.url}/api/alerts`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(403);
    expect(await new GatewayAlertsClient({ url: h.url, apiKey: key }).poll()).toMatchObject({ ok: false });
  });

  it('says when the gateway cannot be reached, and how to start it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const poll = await new GatewayAlertsClient({ url }).poll();
    expect(poll).toEqual({
      ok: false,
      message: `cannot reach the gateway at ${url}: ECONNREFUSED`,
      fix: 'start it with `unity serve`, or name another one with --gateway URL',
    });
  });

  it('reads a gateway that restarted (its numbers went back) from its beginning', async () => {
    const notification = (seq: number, transition: AlertNotification['transition']): AlertNotification => ({
      id: 'slow',
      rule: 'slow',
      kind: 'latency_p95',
      summary: 's',
      details: {},
      seq,
      transition,
      status: 'firing',
      startedAt: '',
      at: '',
      count: 1,
    });
    let events = [notification(1, 'fired'), notification(2, 'repeat'), notification(3, 'repeat')];
    const server: Server = createServer((req, res) => {
      const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after'));
      const body: AlertsListing = {
        rules: ['slow'],
        active: [],
        events: events.filter((n) => n.seq > after),
        last_seq: events.at(-1)?.seq ?? 0,
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const client = new GatewayAlertsClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      expect(await client.poll()).toMatchObject({ ok: true, news: [] });
      events = [notification(1, 'fired')];
      const after = await client.poll();
      expect(after.ok && after.news.map((n) => n.seq)).toEqual([1]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('gatewayUrlOf and gatewayApiKeyOf', () => {
  it('reaches a gateway listening on every interface through loopback', () => {
    expect(gatewayUrlOf({ host: '0.0.0.0', port: 8787 })).toBe('http://127.0.0.1:8787');
    expect(gatewayUrlOf({ host: '::1', port: 9000 })).toBe('http://[::1]:9000');
    expect(gatewayUrlOf({ host: 'gw.internal', port: 80 })).toBe('http://gw.internal:80');
  });

  it('takes the key from the config, else from the variable it names', () => {
    expect(gatewayApiKeyOf({ api_key_env: 'GW_KEY' }, { GW_KEY: 'k' })).toBe('k');
    expect(gatewayApiKeyOf({ api_key: 'inline', api_key_env: 'GW_KEY' }, { GW_KEY: 'k' })).toBe('inline');
    expect(gatewayApiKeyOf({ api_key_env: 'GW_KEY' }, {})).toBeUndefined();
  });
});
