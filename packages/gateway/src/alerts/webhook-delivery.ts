import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { AlertNotification } from './alert-state';
import { type WebhookConfig, webhookNameOf } from './alerts-config';

/** Where and how one webhook receives notifications (`alerts.webhooks[]`, resolved). */
export interface WebhookTarget {
  name: string;
  url: string;
  format: 'json' | 'slack';
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** The first retry's delay; each next one doubles it (with jitter), up to 30 s. */
  backoffMs: number;
}

/** How one delivery ended: never the URL, which often holds the receiver's secret. */
export interface DeliveryOutcome {
  webhook: string;
  seq: number;
  transition: AlertNotification['transition'];
  ok: boolean;
  attempts: number;
  /** The last HTTP status, when there was an answer. */
  status?: number;
  /** Why the last attempt failed. */
  error?: string;
}

export const webhookTargetOf = (hook: WebhookConfig, index: number): WebhookTarget => ({
  name: webhookNameOf(hook, index),
  url: hook.url,
  format: hook.format,
  timeoutMs: hook.timeout_seconds * 1000,
  retries: hook.retries,
  backoffMs: hook.backoff_seconds * 1000,
});

/** The one line a chat receives: `[FIRING] …`, `[STILL FIRING] …`, `[RESOLVED] …`. */
export function notificationText(n: AlertNotification): string {
  switch (n.transition) {
    case 'fired':
      return `[FIRING] ${n.rule}: ${n.summary}`;
    case 'repeat':
      return `[STILL FIRING since ${n.startedAt}] ${n.rule}: ${n.summary}`;
    case 'resolved':
      return `[RESOLVED] ${n.rule}: no longer true since ${n.at}: ${n.summary}`;
  }
}

/** The body posted: the notification (with its text), or Slack's `{ text }`. */
function webhookBody(n: AlertNotification, format: WebhookTarget['format']): Record<string, unknown> {
  const text = notificationText(n);
  return format === 'slack' ? { text } : { source: 'unity-gateway', text, alert: n };
}

/** A failed attempt; `retryable` for errors, timeouts, 408, 429 and 5xx (not for other answers: 400, 401, 404 …). */
class AttemptFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * Posts notifications to one webhook, in order (one at a time, at most `maxQueued` waiting; the oldest waiting is
 * dropped beyond it), each attempt bounded by the timeout, failed ones retried with exponential backoff (cockatiel).
 * `onOutcome` hears how each delivery ended.
 */
export class WebhookSender {
  private chain: Promise<void> = Promise.resolve();
  private waiting: AlertNotification[] = [];
  private readonly controller = new AbortController();

  constructor(
    readonly target: WebhookTarget,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => {},
    private readonly maxQueued = 100,
  ) {}

  /** Queue a notification; deliveries happen in the order they were sent. */
  send(notification: AlertNotification): void {
    this.waiting.push(notification);
    if (this.waiting.length > this.maxQueued) {
      const dropped = this.waiting.shift();
      if (dropped) this.report(dropped, { ok: false, attempts: 0, error: 'dropped: too many notifications waiting' });
    }
    this.chain = this.chain.then(async () => {
      const next = this.waiting.shift();
      if (next) this.onOutcome(await this.deliver(next));
    });
  }

  /** Resolves when every queued notification was delivered or given up. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Abort what is in flight and waiting; later sends fail at once. */
  close(): void {
    this.controller.abort(new Error('the gateway is shutting down'));
  }

  /** One delivery with its retries; never throws. */
  async deliver(notification: AlertNotification): Promise<DeliveryOutcome> {
    const policy = retry(
      handleWhen((error) => !(error instanceof AttemptFailed) || error.retryable),
      {
        maxAttempts: this.target.retries,
        backoff: new ExponentialBackoff({ initialDelay: this.target.backoffMs, maxDelay: 30_000 }),
      },
    ).dangerouslyUnref();
    let attempts = 0;
    let status: number | undefined;
    const body = JSON.stringify(webhookBody(notification, this.target.format));
    try {
      await policy.execute(async () => {
        attempts += 1;
        status = await this.post(body);
      }, this.controller.signal);
      return this.outcome(notification, { ok: true, attempts, ...(status !== undefined ? { status } : {}) });
    } catch (error) {
      const failed = error instanceof AttemptFailed ? error : undefined;
      return this.outcome(notification, {
        ok: false,
        attempts,
        ...(failed?.status !== undefined ? { status: failed.status } : {}),
        error: (error as Error).message,
      });
    }
  }

  /** One attempt: the status of a 2xx answer, else throws AttemptFailed. */
  private async post(body: string): Promise<number> {
    if (this.controller.signal.aborted) throw new AttemptFailed(String(this.controller.signal.reason), false);
    const seconds = this.target.timeoutMs / 1000;
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.target.timeoutMs)]);
    let response: Response;
    try {
      response = await fetch(this.target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'unity-gateway-alerts' },
        body,
        redirect: 'manual',
        signal,
      });
    } catch (error) {
      if (this.controller.signal.aborted) throw new AttemptFailed('the gateway is shutting down', false);
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new AttemptFailed(
        timedOut
          ? `no answer within ${seconds} s (alerts.webhooks[].timeout_seconds)`
          : `cannot reach the webhook: ${describeFetchError(error)}`,
        true,
      );
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return response.status;
    throw new AttemptFailed(
      `the webhook answered ${response.status}`,
      retryableStatus(response.status),
      response.status,
    );
  }

  private outcome(notification: AlertNotification, result: Omit<DeliveryOutcome, 'webhook' | 'seq' | 'transition'>) {
    return { webhook: this.target.name, seq: notification.seq, transition: notification.transition, ...result };
  }

  private report(notification: AlertNotification, result: Omit<DeliveryOutcome, 'webhook' | 'seq' | 'transition'>) {
    this.onOutcome(this.outcome(notification, result));
  }
}

/** fetch's "fetch failed" with its cause (ECONNREFUSED, ENOTFOUND …), never the URL. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
