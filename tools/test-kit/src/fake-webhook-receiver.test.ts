import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeWebhookReceiver } from './fake-webhook-receiver';

let receiver: FakeWebhookReceiver;
beforeAll(async () => {
  receiver = await FakeWebhookReceiver.start();
});
afterAll(() => receiver.close());
beforeEach(() => receiver.reset());

const post = (body: unknown, signal?: AbortSignal) =>
  fetch(receiver.url('/hook'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

describe('FakeWebhookReceiver', () => {
  it('records each POST with its parsed body and answers 200 by default', async () => {
    expect((await post({ text: 'hello' })).status).toBe(200);
    expect(receiver.received).toMatchObject([{ path: '/hook', body: { text: 'hello' }, answered: 200 }]);
    expect(receiver.bodies()).toEqual([{ text: 'hello' }]);
  });

  it('answers the next requests with the queued statuses, then 200', async () => {
    receiver.answerWith(503, 400);
    const statuses = [];
    for (const n of [1, 2, 3]) statuses.push((await post({ n })).status);
    expect(statuses).toEqual([503, 400, 200]);
  });

  it('holds a connection open without answering for `hang`, recording the request', async () => {
    receiver.answerWith('hang');
    const failed = await post({ n: 1 }, AbortSignal.timeout(200)).catch((error: Error) => error.name);
    expect(failed).toBe('TimeoutError');
    expect(receiver.received.map((r) => r.answered)).toEqual(['hang']);
  });

  it('waits for a matching request, and says what it got when none comes', async () => {
    setTimeout(() => void post({ late: true }), 50);
    expect((await receiver.waitFor((r) => (r.body as { late?: boolean }).late === true)).answered).toBe(200);
    await expect(receiver.waitFor(() => false, 50)).rejects.toThrow(/no matching webhook within 50 ms; received: /);
  });
});
