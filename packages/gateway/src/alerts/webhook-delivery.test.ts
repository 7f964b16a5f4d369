import { FakeWebhookReceiver, freePort } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertNotification } from './alert-state';
import { type DeliveryOutcome, notificationText, WebhookSender, type WebhookTarget } from './webhook-delivery';

let receiver: FakeWebhookReceiver;
beforeAll(async () => {
  receiver = await FakeWebhookReceiver.start();
});
afterAll(() => receiver.close());
beforeEach(() => receiver.reset());

const notification = (seq: number, transition: AlertNotification['transition'] = 'fired'): AlertNotification => ({
  id: 'slow',
  rule: 'slow',
  kind: 'latency_p95',
  summary: 'p95 latency 6200 ms over the last 300 s is above 5000 ms (12 requests)',
  details: { p95_ms: 6_200 },
  seq,
  transition,
  status: transition === 'resolved' ? 'resolved' : 'firing',
  startedAt: '2026-01-01T00:00:00.000Z',
  at: '2026-01-01T00:05:00.000Z',
  count: 1,
});

const target = (overrides: Partial<WebhookTarget> = {}): WebhookTarget => ({
  name: 'ops',
  url: receiver.url('/hook'),
  format: 'json',
  timeoutMs: 2_000,
  retries: 3,
  backoffMs: 10,
  ...overrides,
});

describe('WebhookSender', () => {
  it('posts the notification as JSON, with its one-line text', async () => {
    const outcome = await new WebhookSender(target()).deliver(notification(1));
    expect(outcome).toEqual({ webhook: 'ops', seq: 1, transition: 'fired', ok: true, attempts: 1, status: 200 });
    const [received] = receiver.received;
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.body).toEqual({
      source: 'unity-gateway',
      text: '[FIRING] slow: p95 latency 6200 ms over the last 300 s is above 5000 ms (12 requests)',
      alert: notification(1),
    });
  });

  it("posts Slack's { text } shape to a slack webhook", async () => {
    await new WebhookSender(target({ format: 'slack' })).deliver(notification(2, 'resolved'));
    expect(receiver.bodies()).toEqual([
      { text: expect.stringMatching(/^\[RESOLVED\] slow: no longer true since 2026-01-01T00:05:00.000Z: p95 latency/) },
    ]);
  });

  it('retries a 503 and a 429 with backoff until the receiver takes it', async () => {
    receiver.answerWith(503, 429);
    const outcome = await new WebhookSender(target()).deliver(notification(3));
    expect(outcome).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(receiver.received.map((r) => r.answered)).toEqual([503, 429, 200]);
    expect(new Set(receiver.received.map((r) => r.raw)).size).toBe(1);
  });

  it('gives up after the configured retries, saying why', async () => {
    receiver.answerWith(500, 500, 500);
    const outcome = await new WebhookSender(target({ retries: 2 })).deliver(notification(4));
    expect(outcome).toEqual({
      webhook: 'ops',
      seq: 4,
      transition: 'fired',
      ok: false,
      attempts: 3,
      status: 500,
      error: 'the webhook answered 500',
    });
  });

  it('does not retry an answer no retry can change (400)', async () => {
    receiver.answerWith(400);
    const outcome = await new WebhookSender(target()).deliver(notification(5));
    expect(outcome).toMatchObject({ ok: false, attempts: 1, status: 400 });
  });

  it('cuts an attempt at the timeout, naming the setting, and retries it', async () => {
    receiver.answerWith('hang');
    const outcome = await new WebhookSender(target({ timeoutMs: 200, retries: 1 })).deliver(notification(6));
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    receiver.answerWith('hang', 'hang');
    const failed = await new WebhookSender(target({ timeoutMs: 200, retries: 1 })).deliver(notification(7));
    expect(failed).toMatchObject({
      ok: false,
      attempts: 2,
      error: 'no answer within 0.2 s (alerts.webhooks[].timeout_seconds)',
    });
  });

  it('reports an unreachable receiver by its error code, never by its URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}/services/T0/B0/s3cret`;
    const outcome = await new WebhookSender(target({ url, retries: 1 })).deliver(notification(8));
    expect(outcome).toMatchObject({ ok: false, attempts: 2, error: 'cannot reach the webhook: ECONNREFUSED' });
    expect(JSON.stringify(outcome)).not.toContain('s3cret');
  });

  it('delivers queued notifications in the order they were sent, a retried one included', async () => {
    receiver.answerWith(503);
    const outcomes: DeliveryOutcome[] = [];
    const sender = new WebhookSender(target(), (o) => outcomes.push(o));
    sender.send(notification(10));
    sender.send(notification(11, 'repeat'));
    sender.send(notification(12, 'resolved'));
    await sender.idle();
    expect(outcomes.map((o) => [o.seq, o.ok])).toEqual([
      [10, true],
      [11, true],
      [12, true],
    ]);
    const delivered = receiver.received.filter((r) => r.answered === 200);
    expect(delivered.map((r) => (r.body as { alert: { seq: number } }).alert.seq)).toEqual([10, 11, 12]);
  });

  it('gives up at once once closed', async () => {
    const sender = new WebhookSender(target());
    sender.close();
    expect(await sender.deliver(notification(13))).toMatchObject({ ok: false, attempts: 1 });
    expect(receiver.received).toEqual([]);
  });
});

describe('notificationText', () => {
  it('says whether the alert fired, still fires, or resolved', () => {
    expect(notificationText(notification(1))).toMatch(/^\[FIRING\] slow: /);
    expect(notificationText(notification(1, 'repeat'))).toMatch(
      /^\[STILL FIRING since 2026-01-01T00:00:00.000Z\] slow: /,
    );
    expect(notificationText(notification(1, 'resolved'))).toMatch(/^\[RESOLVED\] slow: /);
  });
});
