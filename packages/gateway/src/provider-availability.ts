/** One provider's state: down while its breaker is open (or half-open) or a health check naming it is down. */
interface ProviderState {
  breakerDown: boolean;
  /** Health checks naming the provider that are down now (a provider may have several: reachable, model pulled). */
  failingChecks: Set<string>;
  /** When it went down (undefined while up). */
  downSince: number | undefined;
  /** When it was first tracked. */
  since: number;
  /** Changes of up/down within the window, oldest first, with the state before the first one. */
  changes: Array<{ at: number; up: boolean }>;
  initiallyUp: boolean;
}

interface ProviderAvailabilityOptions {
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** How far back `ratio` looks (default one hour). */
  windowMs?: number;
}

/**
 * Whether each provider is up, since when it is down, and the share of the window it was up — from the router's
 * breaker changes and the health monitor's changes (both on the gateway's event bus: see `observe`). One instance
 * serves both /metrics and the alert rules. A provider is down while its
 * breaker is open or half-open, or while a health check naming it is down; up otherwise, and from the moment it is
 * tracked.
 */
export class ProviderAvailability {
  private readonly states = new Map<string, ProviderState>();
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(options: ProviderAvailabilityOptions = {}) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? 3_600_000;
  }

  /** Start following a provider (up until told otherwise); a provider already followed is left as it is. */
  track(provider: string): void {
    this.state(provider);
  }

  /** The router's breaker for the provider moved to `to` (`closed`, `half-open`, `open`). */
  breakerChanged(provider: string, to: string): void {
    const state = this.state(provider);
    state.breakerDown = to !== 'closed';
    this.settle(state);
  }

  /** A health check naming the provider changed: `up` as the health monitor judges it (ok or warn is up). */
  healthChanged(provider: string, check: string, up: boolean): void {
    const state = this.state(provider);
    if (up) state.failingChecks.delete(check);
    else state.failingChecks.add(check);
    this.settle(state);
  }

  /**
   * Follow one event of the gateway's bus (`bus.subscribe(e => availability.observe(e))`): `router.breaker` moves a
   * provider's breaker, `health.change` of a check naming a provider its health (a skipped check says nothing). Other
   * events, and client events (a client can publish only `client.*`), are ignored.
   */
  observe(event: { type: string; [key: string]: unknown }): void {
    if (typeof event.provider !== 'string') return;
    if (event.type === 'router.breaker' && typeof event.to === 'string') {
      this.breakerChanged(event.provider, event.to);
    } else if (event.type === 'health.change' && event.status !== 'skip') {
      const up = typeof event.up === 'boolean' ? event.up : event.status === 'ok' || event.status === 'warn';
      this.healthChanged(event.provider, String(event.check), up);
    }
  }

  providers(): string[] {
    return [...this.states.keys()];
  }

  isUp(provider: string): boolean {
    const state = this.states.get(provider);
    return state === undefined || state.downSince === undefined;
  }

  /** When the provider went down, or undefined while it is up. */
  downSince(provider: string): number | undefined {
    return this.states.get(provider)?.downSince;
  }

  /** The share (0–1) of the window, since the provider was first tracked, that it was up. */
  ratio(provider: string): number {
    const state = this.states.get(provider);
    if (!state) return 1;
    const now = this.now();
    const start = Math.max(state.since, now - this.windowMs);
    this.prune(state, start);
    if (now <= start) return state.downSince === undefined ? 1 : 0;
    let up = state.initiallyUp;
    let from = start;
    let upMs = 0;
    for (const change of state.changes) {
      const at = Math.max(change.at, start);
      if (up) upMs += at - from;
      from = at;
      up = change.up;
    }
    if (up) upMs += now - from;
    return upMs / (now - start);
  }

  private state(provider: string): ProviderState {
    let state = this.states.get(provider);
    if (!state) {
      state = {
        breakerDown: false,
        failingChecks: new Set(),
        downSince: undefined,
        since: this.now(),
        changes: [],
        initiallyUp: true,
      };
      this.states.set(provider, state);
    }
    return state;
  }

  private settle(state: ProviderState): void {
    const down = state.breakerDown || state.failingChecks.size > 0;
    const wasDown = state.downSince !== undefined;
    if (down === wasDown) return;
    const at = this.now();
    state.downSince = down ? at : undefined;
    state.changes.push({ at, up: !down });
    this.prune(state, at - this.windowMs);
  }

  /** Forget changes before the window, keeping the state they left as the starting one. */
  private prune(state: ProviderState, start: number): void {
    while (state.changes.length > 0 && (state.changes[0]?.at ?? 0) <= start) {
      state.initiallyUp = state.changes.shift()?.up ?? state.initiallyUp;
    }
  }
}
