import { setTimeout as delay } from 'node:timers/promises';
import type { UnityConfig } from './config-schema';

/** Why a request or an attempt was aborted by the router itself (the `reason` of its AbortSignal). */
export class AbortReason extends Error {
  constructor(
    /** `caller`: the caller's signal; `deadline`: the overall deadline; the others end one attempt only. */
    readonly kind: 'caller' | 'deadline' | 'attempt-timeout' | 'first-token-timeout' | 'consumer-stopped',
    /** The setting that bounded the wait, with its value (`cloud_llm.timeout_seconds = 30`). */
    readonly setting?: string,
    readonly callerReason?: unknown,
  ) {
    super(kind);
    this.name = 'AbortReason';
  }
}

/**
 * One request's cancellation: the caller's signal and the overall deadline, as one signal that every attempt and
 * every backoff wait is linked to.
 */
export class RequestScope {
  /** Created only for a deadline: a caller's signal alone is used as it is, and most calls have neither. */
  private readonly controller: AbortController | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onCallerAbort: (() => void) | undefined;

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    deadline: { ms: number; setting: string } | undefined,
  ) {
    if (!deadline) return;
    const controller = new AbortController();
    this.controller = controller;
    if (callerSignal) {
      if (callerSignal.aborted) controller.abort(callerAbort(callerSignal));
      else {
        this.onCallerAbort = () => controller.abort(callerAbort(callerSignal));
        callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
      }
    }
    this.timer = setTimeout(() => controller.abort(new AbortReason('deadline', deadline.setting)), deadline.ms);
  }

  /** The signal that ends the request: the deadline's (which the caller's aborts too), else the caller's. */
  private get signal(): AbortSignal | undefined {
    return this.controller?.signal ?? this.callerSignal;
  }

  /** Why the signal was aborted, as an AbortReason (the caller's own reason is wrapped). */
  private reasonOf(signal: AbortSignal): AbortReason {
    return this.controller ? (signal.reason as AbortReason) : callerAbort(signal);
  }

  /** The reason the request was aborted, if it was. */
  get reason(): AbortReason | undefined {
    const signal = this.signal;
    return signal?.aborted ? this.reasonOf(signal) : undefined;
  }

  /** An attempt's own controller, aborted with the request's reason when the request is. Call the result to unlink. */
  link(attempt: AbortController): () => void {
    const signal = this.signal;
    if (!signal) return noop;
    if (signal.aborted) {
      attempt.abort(this.reasonOf(signal));
      return noop;
    }
    const forward = () => attempt.abort(this.reasonOf(signal));
    signal.addEventListener('abort', forward, { once: true });
    return () => signal.removeEventListener('abort', forward);
  }

  /** Wait `ms`, or reject when the request is aborted. */
  async sleep(ms: number): Promise<void> {
    const signal = this.signal;
    await delay(ms, undefined, signal ? { signal } : undefined);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.onCallerAbort) this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/** A request's deadline: its own `deadlineMs`, else `router.deadline_seconds`, with the setting to name when it passes. */
export function requestDeadline(
  request: { deadlineMs?: number },
  config: UnityConfig,
): { ms: number; setting: string } | undefined {
  if (request.deadlineMs !== undefined)
    return { ms: request.deadlineMs, setting: `deadlineMs = ${request.deadlineMs}` };
  const seconds = config.router.deadline_seconds;
  return seconds === undefined ? undefined : { ms: seconds * 1000, setting: `router.deadline_seconds = ${seconds}` };
}

/** The caller aborted: its own reason is kept as `callerReason`. */
function callerAbort(callerSignal: AbortSignal): AbortReason {
  return new AbortReason('caller', undefined, callerSignal.reason);
}

const noop = () => {};
