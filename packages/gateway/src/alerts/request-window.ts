/** One chat request as the alert rules see it (from a `request.end` event). */
interface RequestSample {
  /** When it ended (ms since the epoch). */
  at: number;
  /** Wall time, ms. */
  ms: number;
  status: number;
  /** Served by a provider other than the first one tried. */
  fallback: boolean;
}

/** What a window of requests holds. */
interface WindowStats {
  /** Requests that ended in the window (client disconnects, 499, left out). */
  requests: number;
  /** Of them, those that failed on the gateway's side (5xx: every provider failed, a timeout, an internal error). */
  errors: number;
  /** Of them, those served by a fallback. */
  fallbacks: number;
  /** The 95th percentile of their wall time (nearest rank), undefined when there were none. */
  p95Ms: number | undefined;
}

/** The gateway's status for a client that went away before the answer: neither an error nor a latency. */
const clientClosed = 499;

/**
 * The recent chat requests, for rates and percentiles over sliding windows. Holds at most `maxAgeMs` of them (the
 * longest window of any rule) and at most `maxSamples`, the oldest dropped first.
 */
export class RequestWindow {
  private samples: RequestSample[] = [];

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxSamples = 100_000,
  ) {}

  record(sample: RequestSample): void {
    if (sample.status === clientClosed) return;
    this.samples.push(sample);
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** The requests that ended within the last `windowMs` before `now`. */
  stats(windowMs: number, now: number): WindowStats {
    this.prune(now);
    const since = now - windowMs;
    const times: number[] = [];
    let errors = 0;
    let fallbacks = 0;
    for (const sample of this.samples) {
      if (sample.at <= since || sample.at > now) continue;
      times.push(sample.ms);
      if (sample.status >= 500) errors++;
      if (sample.fallback) fallbacks++;
    }
    return { requests: times.length, errors, fallbacks, p95Ms: percentile(times, 95) };
  }

  private prune(now: number): void {
    const cutoff = now - this.maxAgeMs;
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop]?.at ?? 0) <= cutoff) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }
}

/** The nearest-rank percentile of `values`, undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
