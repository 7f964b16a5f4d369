import { setTimeout as delay } from 'node:timers/promises';

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
  /** Created only when something can abort the request (a caller signal or a deadline): most calls need none. */
  private readonly controller: AbortController | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onCallerAbort: (() => void) | undefined;

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    deadline: { ms: number; setting: string } | undefined,
  ) {
    if (!callerSignal && !deadline) return;
    const controller = new AbortController();
    this.controller = controller;
    if (callerSignal) {
      if (callerSignal.aborted) controller.abort(new AbortReason('caller', undefined, callerSignal.reason));
      else {
        this.onCallerAbort = () => controller.abort(new AbortReason('caller', undefined, callerSignal.reason));
        callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
      }
    }
    if (deadline) {
      this.timer = setTimeout(() => controller.abort(new AbortReason('deadline', deadline.setting)), deadline.ms);
    }
  }

  /** The reason the request was aborted, if it was. */
  get reason(): AbortReason | undefined {
    const signal = this.controller?.signal;
    return signal?.aborted ? (signal.reason as AbortReason) : undefined;
  }

  /** An attempt's own controller, aborted with the request's reason when the request is. Call the result to unlink. */
  link(attempt: AbortController): () => void {
    const signal = this.controller?.signal;
    if (!signal) return noop;
    if (signal.aborted) {
      attempt.abort(signal.reason);
      return noop;
    }
    const forward = () => attempt.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    return () => signal.removeEventListener('abort', forward);
  }

  /** Wait `ms`, or reject when the request is aborted. */
  async sleep(ms: number): Promise<void> {
    await delay(ms, undefined, this.controller ? { signal: this.controller.signal } : undefined);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.onCallerAbort) this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

const noop = () => {};
