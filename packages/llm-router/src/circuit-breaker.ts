export type BreakerState = 'closed' | 'open' | 'half-open';

export type BreakerChangeReason =
  /** `failureThreshold` consecutive transient failures. */
  | 'failures'
  /** A 429/503 with Retry-After: the provider cools down for that long. */
  | 'retry-after'
  /** The cooldown passed and one probe request was let through. */
  | 'probe'
  | 'probe-succeeded'
  | 'probe-failed'
  /** Another router (a replica) opened its circuit for this provider. */
  | 'shared';

export interface BreakerChange {
  provider: string;
  from: BreakerState;
  to: BreakerState;
  reason: BreakerChangeReason;
  /** While open: when the next probe may go through (epoch ms). */
  until?: number;
}

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is admitted. */
  cooldownMs: number;
  /** Clock (default `Date.now`); tests pass their own. */
  now?: () => number;
  onChange?: (change: BreakerChange) => void;
}

/** Leave to make one request through a breaker. Report how it went exactly once. */
export interface BreakerPermit {
  /** True when this request is the single half-open probe. */
  readonly probe: boolean;
  /** The upstream answered: close the circuit (or reset the failure count). */
  success(): void;
  /** A transient failure: counts toward opening; a failed probe re-opens at once. */
  failure(): void;
  /** No verdict (the caller aborted, nothing reached the upstream): a probe slot is handed back. */
  release(): void;
}

/**
 * One provider's circuit breaker. Closed: requests pass, consecutive transient failures are counted. Open: requests
 * are refused at zero cost until the cooldown (or a Retry-After) passes. Then it admits exactly one probe request
 * (half-open) while refusing the others — they go to the next provider rather than wait — and the probe's outcome
 * closes or re-opens it.
 *
 * Written here rather than taken from cockatiel: cockatiel's half-open state makes concurrent callers wait for the
 * probe's result (which may take the whole attempt timeout) instead of refusing them, it has no way to ask "would you
 * admit?" without executing, and no Retry-After cool-down.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openUntil = 0;
  private probeInFlight = false;
  private readonly now: () => number;

  constructor(
    readonly provider: string,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** When an open circuit admits its next probe (epoch ms); 0 when closed. */
  get retryAt(): number {
    return this.current === 'closed' ? 0 : this.openUntil;
  }

  /** Would `tryAcquire` admit a request now? No side effects. */
  canAdmit(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'half-open') return !this.probeInFlight;
    return this.now() >= this.openUntil;
  }

  /** A permit, or undefined when the circuit refuses (open, or half-open with its probe in flight). */
  tryAcquire(): BreakerPermit | undefined {
    if (this.current === 'closed') return this.permit(false);
    if (this.current === 'open') {
      if (this.now() < this.openUntil) return undefined;
      this.transition('half-open', 'probe');
    }
    if (this.probeInFlight) return undefined;
    this.probeInFlight = true;
    return this.permit(true);
  }

  /** Open for at least `ms` (a Retry-After), without waiting for the failure threshold. */
  coolDown(ms: number, reason: 'retry-after' | 'shared' = 'retry-after'): void {
    const until = this.now() + ms;
    if (this.current === 'open' && this.openUntil >= until) return;
    this.openUntil = until;
    this.transition('open', reason);
  }

  private permit(probe: boolean): BreakerPermit {
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'release') => {
      if (settled) return;
      settled = true;
      if (probe) this.probeInFlight = false;
      if (outcome === 'success') this.onSuccess(probe);
      else if (outcome === 'failure') this.onFailure(probe);
    };
    return {
      probe,
      success: () => settle('success'),
      failure: () => settle('failure'),
      release: () => settle('release'),
    };
  }

  private onSuccess(probe: boolean): void {
    if (probe && this.current === 'half-open') {
      this.failures = 0;
      this.transition('closed', 'probe-succeeded');
    } else if (this.current === 'closed') {
      this.failures = 0;
    }
  }

  private onFailure(probe: boolean): void {
    if (probe && this.current === 'half-open') {
      this.openUntil = this.now() + this.options.cooldownMs;
      this.transition('open', 'probe-failed');
      return;
    }
    if (this.current !== 'closed') return;
    this.failures++;
    if (this.failures >= this.options.failureThreshold) {
      this.failures = 0;
      this.openUntil = this.now() + this.options.cooldownMs;
      this.transition('open', 'failures');
    }
  }

  private transition(to: BreakerState, reason: BreakerChangeReason): void {
    const from = this.current;
    this.current = to;
    if (to !== 'half-open') this.probeInFlight = false;
    this.options.onChange?.({
      provider: this.provider,
      from,
      to,
      reason,
      ...(to === 'open' ? { until: this.openUntil } : {}),
    });
  }
}
