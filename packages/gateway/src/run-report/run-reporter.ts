import { randomUUID } from 'node:crypto';
import type { AgentEvent } from '@unity/convergence';
import { describeError, redactUrl } from '@unity/core';
import type { EvolutionEvent } from '@unity/textgrad';
import { agentRunEvent } from './agent-run-events';
import { evolutionRunEvent } from './evolution-run-events';
import {
  clipText,
  maxRunBatchEvents,
  maxRunNameLength,
  type RunEventOf,
  type RunKind,
  runIdPattern,
  type Unstamped,
} from './run-events';
import { RunReportError } from './run-report-error';

/** The events a loop of this kind emits: the agent loop's or the evolution loop's. */
export type LoopEventOf<K extends RunKind> = K extends 'agent' ? AgentEvent : EvolutionEvent;

export type RunReporterWarningCode =
  /** The gateway did not answer (refused, unreachable, timed out, 5xx): events are held, the oldest dropped. */
  | 'GATEWAY_UNREACHABLE'
  /** The gateway refused the reports (no or a wrong key, no such endpoint, a bad batch): they are dropped. */
  | 'GATEWAY_REFUSED'
  /** More events came than the queue holds while the gateway was slow: the oldest were dropped. */
  | 'EVENTS_DROPPED';

/** What the reporter tells about itself: one warning, the first time reports cannot be delivered. */
export interface RunReporterEvent {
  type: 'warning';
  code: RunReporterWarningCode;
  message: string;
  fix?: string;
}

export interface RunReporterOptions<K extends RunKind> {
  /** The gateway's address (`http://127.0.0.1:8787`); events go to `<url>/api/runs/<runId>/events`. */
  url: string;
  /** The gateway's master key or a virtual key, sent as `Authorization: Bearer`; none for an open loopback gateway. */
  apiKey?: string;
  kind: K;
  /** What the run is about (the task, the file), shown on the dashboard; clipped to 200 characters. */
  title?: string;
  /** Default: `<kind>-<random uuid>`. */
  runId?: string;
  /** Events per request (default 50, at most 200). */
  batchSize?: number;
  /** How long an event may wait for others to share its request, in ms (default 200). */
  flushIntervalMs?: number;
  /** Events held while the gateway is slow or away; beyond it the oldest are dropped (default 1000). */
  maxQueuedEvents?: number;
  /** Bound on each request, in ms (default 5000). */
  requestTimeoutMs?: number;
  /** The first wait before trying an unreachable gateway again, doubled each time up to 30 s (default 1000 ms). */
  retryDelayMs?: number;
  /** Receives the reporter's warning (at most one a reporter). It runs inline; what it throws is ignored. */
  onEvent?: (event: RunReporterEvent) => void;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** What a closed reporter delivered. */
export interface RunReportResult {
  runId: string;
  /** The run on the gateway: `<url>/api/runs/<runId>`, credentials written into the URL redacted. */
  runUrl: string;
  sent: number;
  dropped: number;
}

type Outcome =
  | { kind: 'ok' }
  /** Worth trying again later: the gateway is away, overloaded or failing. */
  | { kind: 'unreachable'; reason: string }
  /** The gateway refuses this reporter (key, endpoint, run owned by another key): stop reporting. */
  | { kind: 'refused'; status: number; reason: string }
  /** The gateway refused this batch only (malformed, too large): drop it, go on. */
  | { kind: 'rejected'; status: number; reason: string };

const maxRetryDelayMs = 30_000;

/** The error text of a gateway answer (`{"error": "…"}` on /api/, OpenAI's `{"error": {"message"}}` elsewhere). */
function errorText(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { error?: unknown };
    if (typeof json.error === 'string') return json.error;
    const message = (json.error as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return body.trim() === '' ? undefined : clipText(body.trim(), 300);
  }
}

/**
 * Reports a run (the agent loop's or the evolution loop's) to a gateway, where the dashboard shows it live: pass
 * `report` as (or call it from) the loop's `onEvent`. Events are mapped to the compact wire format, queued and sent in
 * batches by one request at a time; `report` never waits and never throws. When the gateway is away, events are held
 * up to `maxQueuedEvents` (the oldest dropped) and the gateway is tried again after a growing delay; when it refuses
 * the key, reporting stops. Either way the run goes on, and one `warning` event says so. Call `close()` when the run
 * ends: it sends what is left within its deadline.
 */
export class RunReporter<K extends RunKind = RunKind> {
  readonly runId: string;
  readonly kind: K;
  /** The run on the gateway: `<url>/api/runs/<runId>`, credentials written into the URL redacted (apps print it). */
  readonly runUrl: string;
  private readonly endpoint: string;
  /** The endpoint as warnings name it: without the credentials of the URL. */
  private readonly shownEndpoint: string;
  private readonly title: string | undefined;
  private readonly apiKey: string | undefined;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxQueued: number;
  private readonly requestTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly onEvent: ((event: RunReporterEvent) => void) | undefined;
  private readonly fetch: typeof fetch;
  private readonly startedAt = performance.now();
  private readonly closing = new AbortController();
  private queue: RunEventOf<K>[] = [];
  private seq = 0;
  private sent = 0;
  private dropped = 0;
  /** Drops not yet told to the gateway (sent with the next batch). */
  private untold = 0;
  private state: 'up' | 'retrying' | 'off' = 'up';
  private retryAt = 0;
  private nextDelayMs: number;
  private warned = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(options: RunReporterOptions<K>) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      base = new URL('invalid:');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new RunReportError({
        code: 'INVALID_REPORT_URL',
        message: `cannot report runs to "${redactUrl(options.url)}": expected the gateway's http(s) address`,
        fix: 'give the address `unity serve` prints, e.g. http://127.0.0.1:8787 (--report or report.url)',
      });
    }
    this.kind = options.kind;
    this.runId = options.runId ?? `${options.kind}-${randomUUID()}`;
    if (!runIdPattern.test(this.runId)) {
      throw new RunReportError({
        code: 'INVALID_RUN_ID',
        message: `run id "${this.runId}" is not one the gateway takes`,
        fix: 'use 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit',
      });
    }
    const root = base.href.replace(/\/+$/, '');
    this.endpoint = `${root}/api/runs/${this.runId}/events`;
    this.runUrl = redactUrl(`${root}/api/runs/${this.runId}`);
    this.shownEndpoint = `${this.runUrl}/events`;
    this.title = options.title === undefined ? undefined : clipText(options.title, maxRunNameLength);
    this.apiKey = options.apiKey;
    this.batchSize = Math.min(maxRunBatchEvents, Math.max(1, options.batchSize ?? 50));
    this.flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 200);
    this.maxQueued = Math.max(1, options.maxQueuedEvents ?? 1000);
    this.requestTimeoutMs = Math.max(1, options.requestTimeoutMs ?? 5000);
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? 1000);
    this.nextDelayMs = this.retryDelayMs;
    this.onEvent = options.onEvent;
    this.fetch = options.fetch ?? fetch;
  }

  /** Report one event of the loop: pass this as (or call it from) the loop's `onEvent`. Never waits, never throws. */
  readonly report = (event: LoopEventOf<K>): void => {
    try {
      const wire =
        this.kind === 'agent' ? agentRunEvent(event as AgentEvent) : evolutionRunEvent(event as EvolutionEvent);
      if (wire) this.enqueue(wire as Unstamped<RunEventOf<K>>);
    } catch {
      // A report is never worth failing the run for.
    }
  };

  /** Events sent so far, and dropped so far. */
  get counts(): { sent: number; dropped: number; queued: number } {
    return { sent: this.sent, dropped: this.dropped, queued: this.queue.length };
  }

  /**
   * Send what is queued and stop: waits at most `timeoutMs` (default 2000), and not at all for a gateway that failed
   * the last attempt. Events reported later are dropped. Never throws.
   */
  async close({ timeoutMs = 2000 }: { timeoutMs?: number } = {}): Promise<RunReportResult> {
    if (!this.closed) {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      const deadline = setTimeout(() => this.closing.abort(), timeoutMs);
      try {
        while (!this.closing.signal.aborted) {
          if (this.inFlight) await this.inFlight;
          else if (this.state === 'up' && this.queue.length > 0) await this.pump();
          else break;
        }
      } finally {
        clearTimeout(deadline);
        this.drop(this.queue.length);
        this.queue = [];
      }
    }
    return { runId: this.runId, runUrl: this.runUrl, sent: this.sent, dropped: this.dropped };
  }

  private enqueue(event: Unstamped<RunEventOf<K>>): void {
    if (this.state === 'off' || this.closed) {
      this.drop(1);
      return;
    }
    const elapsedMs = Math.max(0, Math.round(performance.now() - this.startedAt));
    this.queue.push({ ...event, seq: this.seq++, elapsedMs } as unknown as RunEventOf<K>);
    this.trimQueue();
    if (this.queue.length >= this.batchSize) this.schedule(0);
    else this.schedule(this.flushIntervalMs);
  }

  /** Drop the oldest events beyond the queue's bound. */
  private trimQueue(): void {
    const excess = this.queue.length - this.maxQueued;
    if (excess <= 0) return;
    this.queue.splice(0, excess);
    this.drop(excess, true);
    if (this.state === 'up') {
      this.warn(
        'EVENTS_DROPPED',
        `the gateway at ${this.shownEndpoint} takes run events slower than the run makes them: the oldest are dropped (more than ${this.maxQueued} queued); the run goes on`,
      );
    }
  }

  private drop(count: number, tellGateway = false): void {
    this.dropped += count;
    if (tellGateway) this.untold += count;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.state === 'off') return;
    const wait = Math.max(delayMs, this.retryAt - performance.now());
    if (this.timer) {
      if (wait > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, wait);
    this.timer.unref?.();
  }

  /** Send one batch, unless one is in flight; then schedule the next. */
  private async pump(): Promise<void> {
    if (this.inFlight || this.queue.length === 0 || this.state === 'off') return;
    const batch = this.queue.splice(0, this.batchSize);
    const untold = this.untold;
    this.untold = 0;
    const sending = this.post(batch, untold).then((outcome) => this.settle(batch, untold, outcome));
    this.inFlight = sending;
    try {
      await sending;
    } finally {
      this.inFlight = undefined;
    }
    if (this.queue.length > 0) this.schedule(this.queue.length >= this.batchSize ? 0 : this.flushIntervalMs);
  }

  private async post(events: RunEventOf<K>[], dropped: number): Promise<Outcome> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const body = {
      kind: this.kind,
      ...(this.title === undefined ? {} : { title: this.title }),
      ...(dropped > 0 ? { dropped } : {}),
      events,
    };
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.any([timeout, this.closing.signal]),
      });
      text = await response.text();
    } catch (error) {
      const reason = timeout.aborted
        ? `no answer within ${this.requestTimeoutMs} ms (requestTimeoutMs)`
        : this.closing.signal.aborted
          ? 'no answer before the run ended'
          : describeError((error as { cause?: unknown }).cause ?? error);
      return { kind: 'unreachable', reason };
    }
    if (response.ok) return { kind: 'ok' };
    const reason = `${response.status} ${errorText(text) ?? response.statusText}`;
    const status = response.status;
    if (status === 408 || status === 429 || status >= 500) return { kind: 'unreachable', reason };
    if (status === 400 || status === 413) return { kind: 'rejected', status, reason };
    return { kind: 'refused', status, reason };
  }

  private settle(batch: RunEventOf<K>[], untold: number, outcome: Outcome): void {
    switch (outcome.kind) {
      case 'ok':
        this.sent += batch.length;
        this.state = 'up';
        this.retryAt = 0;
        this.nextDelayMs = this.retryDelayMs;
        return;
      case 'unreachable':
        this.warn(
          'GATEWAY_UNREACHABLE',
          `run events cannot reach the gateway at ${this.shownEndpoint}: ${outcome.reason}; the run goes on, its events held (at most ${this.maxQueued}) until the gateway answers`,
          'start it with `unity serve`, or check --report / report.url',
        );
        if (this.closed) {
          this.drop(batch.length);
          this.state = 'retrying';
          return;
        }
        // Back to the front of the queue, told drops with them: the gateway may be back for the next attempt.
        this.queue.unshift(...batch);
        this.untold += untold;
        this.state = 'retrying';
        this.retryAt = performance.now() + this.nextDelayMs;
        this.nextDelayMs = Math.min(maxRetryDelayMs, Math.max(1, this.nextDelayMs * 2));
        this.trimQueue();
        return;
      case 'rejected':
        this.drop(batch.length, true);
        this.untold += untold;
        this.warn(
          'GATEWAY_REFUSED',
          `the gateway at ${this.shownEndpoint} refused a batch of run events: ${outcome.reason}; those are dropped, the run goes on`,
          'use the same version of unity for the run and the gateway',
        );
        return;
      case 'refused':
        this.drop(batch.length + this.queue.length);
        this.queue = [];
        this.state = 'off';
        this.warn(
          'GATEWAY_REFUSED',
          `the gateway at ${this.shownEndpoint} refused run events: ${outcome.reason}; the run goes on without reporting`,
          outcome.status === 401 || outcome.status === 403
            ? "set the gateway's master key or a virtual key in the variable report.api_key_env names (UNITY_API_KEY by default)"
            : outcome.status === 404
              ? 'report to a gateway of this version of unity (`unity serve`)'
              : 'report under a new run id',
        );
        return;
    }
  }

  private warn(code: RunReporterWarningCode, message: string, fix?: string): void {
    if (this.warned) return;
    this.warned = true;
    try {
      // The reason may quote the URL too (an error of fetch): whatever it says, no credentials of a URL leave.
      this.onEvent?.({ type: 'warning', code, message: redactUrl(message), ...(fix === undefined ? {} : { fix }) });
    } catch {
      // The listener's failure is not the run's.
    }
  }
}
