// Each rule kind through the real gateway (`startServer`, the real router over the test kit's fake upstreams):
// the alert fires once, repeats on schedule while it holds, and resolves once — at a real webhook receiver, on /ws and
// in GET /api/alerts.
import { FakeWebhookReceiver, sleep } from '@unity/test-kit';
import OpenAI from 'openai';
import { WebSocket } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';
import type { BusEvent } from '../event-bus';
import type { AlertNotification } from './alert-state';
import type { AlertsListing } from './alerts-route';

let receiver: FakeWebhookReceiver;
let h: Harness | undefined;

beforeAll(async () => {
  receiver = await FakeWebhookReceiver.start();
});
afterAll(() => receiver.close());
afterEach(async () => {
  await h?.close();
  h = undefined;
  receiver.reset();
});

/** The `alerts:` section: quick evaluation, a repeat every 0.3 s, the receiver as the one webhook. */
function alertsYaml(rules: string[], options: { format?: 'json' | 'slack' } = {}): string {
  return [
    'alerts:',
    '  evaluation_interval_seconds: 0.05',
    '  repeat_seconds: 0.3',
    '  webhooks:',
    `    - url: ${receiver.url('/hook')}`,
    `      format: ${options.format ?? 'json'}`,
    '      backoff_seconds: 0.01',
    '  rules:',
    ...rules.map((rule) => `    - ${rule}`),
    '',
  ].join('\n');
}

const delivered = (rule: string) =>
  receiver
    .bodies<{ alert: AlertNotification }>()
    .map((b) => b.alert)
    .filter((a) => a?.rule === rule);

async function waitForTransition(rule: string, transition: AlertNotification['transition'], timeoutMs = 10_000) {
  const received = await receiver.waitFor((r) => {
    const alert = (r.body as { alert?: AlertNotification }).alert;
    return alert?.rule === rule && alert.transition === transition;
  }, timeoutMs);
  return (received.body as { alert: AlertNotification }).alert;
}

/** Fired once, at least one repeat, resolved once, in that order. */
function expectLifecycle(rule: string): void {
  const transitions = delivered(rule).map((a) => a.transition);
  expect(transitions[0]).toBe('fired');
  expect(transitions.at(-1)).toBe('resolved');
  expect(transitions.filter((t) => t === 'fired')).toHaveLength(1);
  expect(transitions.filter((t) => t === 'resolved')).toHaveLength(1);
  expect(transitions.slice(1, -1).every((t) => t === 'repeat')).toBe(true);
  expect(transitions.length).toBeGreaterThanOrEqual(3);
  const seqs = delivered(rule).map((a) => a.seq);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
}

async function listing(url: string, apiKey?: string): Promise<AlertsListing> {
  const response = await fetch(`${url}/api/alerts`, {
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
  });
  expect(response.status).toBe(200);
  return (await response.json()) as AlertsListing;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; delivered: ${JSON.stringify(receiver.bodies())}`);
    await sleep(20);
  }
}

const ask = (content: string) => [{ role: 'user' as const, content }];

describe('alerts through the gateway', () => {
  it('latency_p95: a slow request fires, repeats while in the window, resolves once it leaves — on the webhook, /ws and /api/alerts', async () => {
    h = await startHarness({
      extraYaml: alertsYaml([
        '{name: slow, kind: latency_p95, threshold_ms: 150, window_seconds: 1.5, min_requests: 1}',
      ]),
    });
    const events: BusEvent[] = [];
    const socket = new WebSocket(`${h.url.replace('http', 'ws')}/ws`);
    socket.onmessage = (m) => events.push(JSON.parse(String(m.data)) as BusEvent);
    await new Promise<void>((resolve) => {
      socket.onopen = () => resolve();
    });
    try {
      const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
      h.local.enqueue({ text: 'slowly', delayMs: 300 });
      await client.chat.completions.create({ model: 'local', messages: ask('take your time') });

      const fired = await waitForTransition('slow', 'fired');
      expect(fired).toMatchObject({ kind: 'latency_p95', status: 'firing', count: 1, details: { requests: 1 } });
      expect(fired.summary).toMatch(/^p95 latency \d+ ms over the last 1.5 s is above 150 ms \(1 requests\)$/);
      const active = await listing(h.url);
      expect(active.rules).toEqual(['slow']);
      expect(active.active).toMatchObject([{ id: 'slow', rule: 'slow', kind: 'latency_p95' }]);

      await waitForTransition('slow', 'repeat');
      await waitForTransition('slow', 'resolved');
      expectLifecycle('slow');
      expect((await listing(h.url)).active).toEqual([]);
      const alertEvents = events.filter((e) => e.type.startsWith('alert.'));
      expect(alertEvents[0]).toMatchObject({ type: 'alert.fired', rule: 'slow' });
      expect(alertEvents.at(-1)).toMatchObject({ type: 'alert.resolved', rule: 'slow' });
      expect((await listing(h.url)).events.map((n) => n.transition)).toEqual(
        delivered('slow').map((a) => a.transition),
      );
    } finally {
      socket.close();
    }
  });

  it('error_rate: requests every provider fails fire it; it resolves once they leave the window', async () => {
    h = await startHarness({
      extraYaml: alertsYaml([
        '{name: errors, kind: error_rate, threshold_percent: 50, window_seconds: 1.5, min_requests: 2}',
      ]),
    });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
    h.local.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 500 });
    for (const n of [1, 2]) {
      const failed = await client.chat.completions
        .create({ model: 'local', messages: ask(`fail ${n}`) })
        .catch((e) => e);
      expect(failed.status).toBeGreaterThanOrEqual(500);
    }
    const fired = await waitForTransition('errors', 'fired');
    expect(fired.summary).toBe('error rate 100% over the last 1.5 s is above 50% (2 of 2 requests)');
    await waitForTransition('errors', 'resolved');
    expectLifecycle('errors');
  });

  it('fallback_rate: requests the local model serves after the cloud failed fire it, then resolve', async () => {
    h = await startHarness({
      extraYaml: alertsYaml([
        '{name: fallbacks, kind: fallback_rate, threshold_percent: 50, window_seconds: 1.5, min_requests: 2}',
      ]),
    });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
    h.cloud.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 500 });
    for (const n of [1, 2]) {
      const served = await client.chat.completions.create({ model: 'unity', messages: ask(`fall back ${n}`) });
      expect(served.choices[0]?.message.content).toBe(`echo: fall back ${n}`);
    }
    const fired = await waitForTransition('fallbacks', 'fired');
    expect(fired.details).toMatchObject({ fallbacks: 2, requests: 2, percent: 100 });
    await waitForTransition('fallbacks', 'resolved');
    expectLifecycle('fallbacks');
  });

  it('provider_down: Ollama refusing connections (the health monitor) fires after for_seconds and resolves when it is back', async () => {
    h = await startHarness({
      server: { health_interval_seconds: 0.1 },
      extraYaml: alertsYaml([
        '{name: down, kind: provider_down, for_seconds: 0.3, providers: [ollama], repeat_seconds: 0.2}',
      ]),
    });
    const harness = h;
    await sleep(300);
    expect(delivered('down')).toEqual([]);
    await harness.local.refuse();
    const refusedAt = Date.now();
    const fired = await waitForTransition('down', 'fired');
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(300);
    expect(fired).toMatchObject({ id: 'down:ollama', subject: 'ollama', details: { provider: 'ollama' } });
    await waitForTransition('down', 'repeat');
    await harness.local.accept();
    await waitForTransition('down', 'resolved');
    expectLifecycle('down');
  });

  it('provider_down: an open breaker of the cloud fires, and its closing after a good probe resolves it', async () => {
    h = await startHarness({
      routerYaml: ['  breaker:', '    failure_threshold: 1', '    cooldown_seconds: 0.8'].join('\n'),
      extraYaml: alertsYaml(['{name: cloud-down, kind: provider_down, for_seconds: 0.1, providers: [openai]}']),
    });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
    h.cloud.enqueue({ fault: 'status', status: 500 });
    await client.chat.completions.create({ model: 'unity', messages: ask('break the cloud') });
    const fired = await waitForTransition('cloud-down', 'fired');
    expect(fired.subject).toBe('openai');
    await waitForTransition('cloud-down', 'repeat');
    await sleep(900);
    // After the cooldown the next request probes the cloud, which answers: the breaker closes.
    const served = await client.chat.completions.create({ model: 'unity', messages: ask('probe') });
    expect(served.choices[0]?.message.content).toBe('echo: probe');
    await waitForTransition('cloud-down', 'resolved');
    expectLifecycle('cloud-down');
  });

  it("key_budget: a virtual key's spend fires at 80% and at 100%, each repeating, both resolving when the period starts again", async () => {
    const clock = { now: Date.UTC(2026, 5, 1, 12) };
    const master = 'master-key-of-the-budget-test';
    h = await startHarness({
      env: { UNITY_API_KEY: master },
      clock: () => clock.now,
      // $1 an output token of the cloud model: a budget of $10 is 10 tokens.
      extraYaml: `  prices:\n    '*': {input_per_mtok: 0, output_per_mtok: 1000000}\n${alertsYaml([
        '{name: budget, kind: key_budget, at_percent: [80, 100]}',
      ])}`,
    });
    const created = await fetch(`${h.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'team-a', budget_usd: 10, budget_period: 'day' }),
    });
    expect(created.status).toBe(201);
    const { key, ...record } = (await created.json()) as { key: string; id: string };
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0 });

    h.cloud.enqueue({ text: 'eight tokens', usage: { promptTokens: 1, completionTokens: 8 } });
    await client.chat.completions.create({ model: 'unity', messages: ask('spend 8'), max_tokens: 10 });
    const at80 = await waitForTransition('budget', 'fired');
    expect(at80).toMatchObject({ id: `budget:${record.id}:80`, subject: record.id, details: { percent: 80 } });
    expect(at80.summary).toBe(
      `virtual key "team-a" (${record.id}) has spent $8.00 of its $10.00 budget per day (80%), reaching 80%`,
    );

    h.cloud.enqueue({ text: 'three more', usage: { promptTokens: 1, completionTokens: 3 } });
    await client.chat.completions.create({ model: 'unity', messages: ask('spend 3'), max_tokens: 10 });
    await receiver.waitFor((r) => (r.body as { alert?: AlertNotification }).alert?.id === `budget:${record.id}:100`);
    await receiver.waitFor((r) => {
      const alert = (r.body as { alert?: AlertNotification }).alert;
      return alert?.id === `budget:${record.id}:100` && alert.transition === 'repeat';
    });
    const active = await listing(h.url, master);
    expect(active.active.map((a) => a.id).sort()).toEqual([`budget:${record.id}:100`, `budget:${record.id}:80`]);

    // The next UTC day: the key's daily budget starts again, and both alerts resolve.
    clock.now += 24 * 3_600_000;
    await until(() => delivered('budget').filter((a) => a.transition === 'resolved').length === 2);
    for (const threshold of [80, 100]) {
      const transitions = delivered('budget')
        .filter((a) => a.id === `budget:${record.id}:${threshold}`)
        .map((a) => a.transition);
      expect(transitions[0]).toBe('fired');
      expect(transitions).toContain('repeat');
      expect(transitions.at(-1)).toBe('resolved');
      expect(transitions.filter((t) => t === 'resolved')).toHaveLength(1);
    }
  });

  it('posts the Slack shape to a slack webhook', async () => {
    h = await startHarness({
      extraYaml: alertsYaml(
        ['{name: slow, kind: latency_p95, threshold_ms: 100, window_seconds: 60, min_requests: 1}'],
        {
          format: 'slack',
        },
      ),
    });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
    h.local.enqueue({ text: 'slowly', delayMs: 200 });
    await client.chat.completions.create({ model: 'local', messages: ask('slow') });
    const received = await receiver.waitFor(() => true);
    expect(received.body).toEqual({
      text: expect.stringMatching(/^\[FIRING\] slow: p95 latency \d+ ms over the last 60 s/),
    });
  });

  it('answers an empty listing when no rule is configured', async () => {
    h = await startHarness();
    expect(await listing(h.url)).toEqual({ rules: [], active: [], events: [], last_seq: 0 });
  });
});
