import { EventEmitter } from 'node:events';
import { type Check, type CheckResult, type CheckStatus, runChecks } from './check';

/** One check moving from one status to another (`from` is undefined on its first run). */
export interface HealthChange {
  id: string;
  title: string;
  provider?: string;
  from: CheckStatus | undefined;
  to: CheckStatus;
  result: CheckResult;
  /** When it was observed (the monitor's clock, ms). */
  at: number;
}

/** Share of runs a check was up within the window. `ratio` is undefined before the first run. */
export interface Availability {
  up: number;
  total: number;
  ratio: number | undefined;
}

export interface HealthMonitorEvents {
  /** A check's status changed (the seed's alerting). */
  change: [HealthChange];
  /** A round of checks finished. */
  results: [CheckResult[]];
  /** A round could not run (a bug in the check list); the monitor keeps going. */
  error: [unknown];
}

export interface HealthMonitorOptions {
  /** The cheap checks to repeat (or a function giving them, read at every round). */
  checks: readonly Check[] | (() => readonly Check[]);
  /** Pause between the end of one round and the start of the next (default 5000 ms, the seed's 5 s). */
  intervalMs?: number;
  /** How far back availability is computed (default one hour). */
  windowMs?: number;
  /** Clock for timestamps and the window, in ms (default `Date.now`). */
  now?: () => number;
}

/** Whether a result means "available": its explicit `up`, else not failed and not skipped. */
export function isResultUp(result: CheckResult): boolean {
  return result.up ?? (result.status === 'ok' || result.status === 'warn');
}

/**
 * Runs the checks every `intervalMs`, keeps each check's history for availability figures, and emits `change` on
 * every change of status. `isUp(providerId)` answers for the router (its `health` option): a provider is down when a
 * check that names it is down, unknown (undefined) before any check about it has run.
 */
export class HealthMonitor extends EventEmitter<HealthMonitorEvents> {
  private readonly options: HealthMonitorOptions;
  private readonly latestResults = new Map<string, CheckResult>();
  private readonly history = new Map<string, { at: number; up: boolean }[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private controller: AbortController | undefined;
  private running = false;

  private generation = 0;

  constructor(options: HealthMonitorOptions) {
    super();
    this.options = options;
  }

  get intervalMs(): number {
    return this.options.intervalMs ?? 5000;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Run a round now and then one every `intervalMs` after each round ends, until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop(++this.generation);
  }

  /** Stop the rounds and abort the one in flight. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.controller?.abort(new Error('health monitor stopped'));
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** One loop per `start()`: a round still in flight from an earlier start (stopped since) never reschedules. */
  private async loop(generation: number): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    try {
      await this.runOnce(controller.signal);
    } catch (error) {
      if (this.running && this.listenerCount('error') > 0) this.emit('error', error);
    }
    if (this.running && generation === this.generation) {
      this.timer = setTimeout(() => void this.loop(generation), this.intervalMs);
    }
  }

  /** One round: run the checks, record them, emit `change` for each new status and then `results`. */
  async runOnce(signal?: AbortSignal): Promise<CheckResult[]> {
    const checks = typeof this.options.checks === 'function' ? this.options.checks() : this.options.checks;
    const results = await runChecks(checks, signal);
    if (signal?.aborted) return results;
    const at = this.now();
    const windowStart = at - (this.options.windowMs ?? 3_600_000);
    for (const result of results) {
      const previous = this.latestResults.get(result.id);
      this.latestResults.set(result.id, result);
      const entries = (this.history.get(result.id) ?? []).filter((e) => e.at > windowStart);
      entries.push({ at, up: isResultUp(result) });
      this.history.set(result.id, entries);
      if (previous?.status !== result.status) {
        this.emit('change', {
          id: result.id,
          title: result.title,
          ...(result.provider === undefined ? {} : { provider: result.provider }),
          from: previous?.status,
          to: result.status,
          result,
          at,
        });
      }
    }
    this.emit('results', results);
    return results;
  }

  /** The last result of every check, in the order they were first seen. */
  latest(): CheckResult[] {
    return [...this.latestResults.values()];
  }

  /** For the router: false when a check naming this provider is down, undefined when no such check has run. */
  isUp(providerId: string): boolean | undefined {
    let known = false;
    for (const result of this.latestResults.values()) {
      if (result.provider !== providerId) continue;
      if (!isResultUp(result)) return false;
      known = true;
    }
    return known ? true : undefined;
  }

  /** How often a check was up within the window. */
  availability(checkId: string): Availability {
    const windowStart = this.now() - (this.options.windowMs ?? 3_600_000);
    const entries = (this.history.get(checkId) ?? []).filter((e) => e.at > windowStart);
    const up = entries.filter((e) => e.up).length;
    return { up, total: entries.length, ratio: entries.length === 0 ? undefined : up / entries.length };
  }
}
