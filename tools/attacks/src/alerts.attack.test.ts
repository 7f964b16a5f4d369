// Alerting under attack (issue 16): a gateway client trying to point the alerts at its own webhook — through any
// method on /api/alerts, the admin API, forged /ws events or a request body — and alert payloads searched for every
// secret the gateway holds (its master key, the cloud key, a virtual key, the webhook's own URL). A real gateway on
// 127.0.0.1 (the real router over the test kit's fakes), real webhook receivers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RunningServer, startServer } from '@unity/gateway';
import { FakeOllama, FakeOpenAI, FakeWebhookReceiver, gatewayConfigYaml, sleep } from '@unity/test-kit';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const masterKey = 'gw-master-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const cloudKey = 'sk-cloud-key-the-alerts-must-never-carry';

let cloud: FakeOpenAI;
let local: FakeOllama;
let receiver: FakeWebhookReceiver;
let attacker: FakeWebhookReceiver;
let server: RunningServer;
let dir: string;
let url: string;
/** The configured webhook's URL, whose path holds its secret as Slack's do. */
let hookUrl: string;

const auth = { authorization: `Bearer ${masterKey}` };

beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: cloudKey });
  local = await FakeOllama.start();
  receiver = await FakeWebhookReceiver.start();
  attacker = await FakeWebhookReceiver.start();
  hookUrl = receiver.url('/services/T0000/B0000/webhook-token-s3cret');
  dir = await mkdtemp(path.join(tmpdir(), 'unity-alerts-attack-'));
  const configPath = path.join(dir, 'system.yaml');
  await writeFile(
    configPath,
    `${gatewayConfigYaml({
      cloudBaseUrl: cloud.baseURL,
      ollamaHost: local.host,
      routerLines: ['  breaker:', '    failure_threshold: 1'],
      server: { data_dir: path.join(dir, 'data') },
    })}  prices:\n    '*': {input_per_mtok: 0, output_per_mtok: 1000000}\n${[
      'alerts:',
      '  evaluation_interval_seconds: 0.05',
      '  repeat_seconds: 0.2',
      '  webhooks:',
      `    - url: ${hookUrl}`,
      '      backoff_seconds: 0.01',
      '    - name: slack',
      `      url: ${hookUrl}`,
      '      format: slack',
      '      backoff_seconds: 0.01',
      '  rules:',
      '    - {name: errors, kind: error_rate, threshold_percent: 10, window_seconds: 2, min_requests: 1}',
      '    - {name: budget, kind: key_budget, at_percent: [50]}',
      '    - {name: down, kind: provider_down, for_seconds: 0}',
      '',
    ].join('\n')}`,
  );
  server = await startServer({
    configPath,
    port: 0,
    env: { TEST_CLOUD_KEY: cloudKey, UNITY_API_KEY: masterKey },
  });
  url = server.address;
});

afterAll(async () => {
  await server?.shutdown({ drainTimeoutMs: 500 });
  await Promise.all([cloud?.close(), local?.close(), receiver?.close(), attacker?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('the webhook URL comes from the config only', () => {
  it('has no way to add or change a webhook over HTTP: every write to /api/alerts or an admin alerts path is refused', async () => {
    const body = JSON.stringify({
      webhooks: [{ url: attacker.url('/steal') }],
      alerts: { webhooks: [{ url: attacker.url('/steal') }] },
    });
    const headers = { ...auth, 'content-type': 'application/json' };
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const target of ['/api/alerts', '/api/alerts/webhooks', '/admin/alerts', '/admin/alerts/webhooks']) {
        const response = await fetch(`${url}${target}`, {
          method,
          ...(method === 'DELETE' ? { headers: auth } : { headers, body }),
        });
        expect(response.status, `${method} ${target}`).toBe(404);
      }
    }
    // A GET with the attacker's URL in its query changes nothing either.
    const listing = await fetch(`${url}/api/alerts?webhook=${encodeURIComponent(attacker.url('/steal'))}`, {
      headers: auth,
    });
    expect(listing.status).toBe(200);
  });

  it('ignores /ws events that try to configure alerts, and alerts still reach only the configured receiver', async () => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws?api_key=${masterKey}`);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error('no WebSocket'));
    });
    socket.send(JSON.stringify({ type: 'client.alerts.webhook', url: attacker.url('/steal') }));
    socket.send(JSON.stringify({ type: 'alert.fired', rule: 'forged', webhooks: [attacker.url('/steal')] }));
    await sleep(100);
    socket.close();

    local.enqueue({ fault: 'status', status: 500 });
    const failed = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'fail' }] }),
    });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    await receiver.waitFor((r) => JSON.stringify(r.body).includes('errors'));
    await sleep(200);
    expect(attacker.received).toEqual([]);
    const listing = (await (await fetch(`${url}/api/alerts`, { headers: auth })).json()) as {
      events: Array<{ rule: string }>;
    };
    expect(listing.events.some((e) => e.rule === 'forged')).toBe(false);
  });
});

describe('alert payloads never carry a secret', () => {
  it('holds no API key, virtual key or webhook URL in webhook bodies, /ws events, /api/alerts or delivery failures', async () => {
    // A virtual key whose spend crosses its alert, and a cloud provider whose breaker opens: alerts that name a key and
    // a provider, around requests made with the keys.
    const created = await fetch(`${url}/admin/keys`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'team-a', budget_usd: 10 }),
    });
    const { key: virtualKey, id } = (await created.json()) as { key: string; id: string };
    cloud.enqueue({ text: 'spent', usage: { promptTokens: 1, completionTokens: 6 } });
    const served = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${virtualKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: `my key is ${virtualKey}` }] }),
    });
    expect(served.status).toBe(200);
    await receiver.waitFor((r) => JSON.stringify(r.body).includes(`budget:${id}:50`));

    // A delivery failure: the receiver refuses, so the failure event is published (it must not name the URL).
    receiver.answerWith(400, 400, 400, 400, 400, 400);
    cloud.enqueue({ fault: 'status', status: 500 });
    local.enqueue({ fault: 'status', status: 500 });
    await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${virtualKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: cloudKey }] }),
    });
    const deadline = Date.now() + 10_000;
    while (!server.gateway.bus.recent().some((e) => e.type === 'alert.delivery-failed')) {
      if (Date.now() > deadline) throw new Error('no delivery failure');
      await sleep(20);
    }

    const listing = await (await fetch(`${url}/api/alerts`, { headers: auth })).text();
    const events = JSON.stringify(server.gateway.bus.recent().filter((e) => e.type.startsWith('alert.')));
    const deliveries = receiver.received.map((r) => r.raw).join('\n');
    expect(deliveries).toContain('team-a');
    expect(server.gateway.bus.recent().some((e) => e.type === 'alert.fired' && e.rule === 'down')).toBe(true);
    for (const [where, text] of [
      ['webhook bodies', deliveries],
      ['/ws alert events', events],
      ['/api/alerts', listing],
    ] as const) {
      for (const secret of [masterKey, cloudKey, virtualKey, 'webhook-token-s3cret']) {
        expect(text.includes(secret), `${where} holds ${secret.slice(0, 6)}…`).toBe(false);
      }
    }
  });
});
