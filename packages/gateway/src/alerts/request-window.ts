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
 * The samples oldest first, at most `capacity` of them: a ring (grown on demand up to `capacity`), so that adding one
 * and dropping the oldest cost O(1) however many are held.
 */
class SampleRing {
  private items: RequestSample[] = [];
  /** Where the oldest sample is. */
  private head = 0;
  private count = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** The `index`-th oldest sample (0: the oldest). */
  at(index: number): RequestSample | undefined {
    return index < this.count ? this.items[(this.head + index) % this.items.length] : undefined;
  }

  /** Add the newest sample; at capacity, it takes the oldest one's place. */
  push(sample: RequestSample): void {
    if (this.count === this.items.length && this.items.length < this.capacity) this.grow();
    if (this.count === this.items.length) {
      this.items[this.head] = sample;
      this.head = (this.head + 1) % this.items.length;
      return;
    }
    this.items[(this.head + this.count) % this.items.length] = sample;
    this.count++;
  }

  /** Forget the `n` oldest samples. */
  dropOldest(n: number): void {
    const drop = Math.min(n, this.count);
    if (drop === 0) return;
    this.head = (this.head + drop) % this.items.length;
    this.count -= drop;
  }

  /** Double the storage (up to the capacity), the oldest sample first. */
  private grow(): void {
    const ordered: RequestSample[] = [];
    for (let i = 0; i < this.count; i++) ordered.push(this.at(i) as RequestSample);
    this.items = ordered;
    this.items.length = Math.min(this.capacity, Math.max(16, this.count * 2));
    this.head = 0;
  }
}

/**
 * The recent chat requests, for rates and percentiles over sliding windows. Holds at most `maxAgeMs` of them (the
 * longest window of any rule) and at most `maxSamples`, the oldest dropped first. Recording is O(1): it runs in the
 * bus's listener, once per request.
 */
export class RequestWindow {
  private readonly samples: SampleRing;

  constructor(
    private readonly maxAgeMs: number,
    maxSamples = 100_000,
  ) {
    this.samples = new SampleRing(Math.max(1, maxSamples));
  }

  record(sample: RequestSample): void {
    if (sample.status === clientClosed) return;
    this.samples.push(sample);
  }

  /** The requests that ended within the last `windowMs` before `now`. */
  stats(windowMs: number, now: number): WindowStats {
    this.prune(now);
    const since = now - windowMs;
    const times: number[] = [];
    let errors = 0;
    let fallbacks = 0;
    for (let i = 0; i < this.samples.size; i++) {
      const sample = this.samples.at(i) as RequestSample;
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
    while (drop < this.samples.size && (this.samples.at(drop)?.at ?? 0) <= cutoff) drop++;
    this.samples.dropOldest(drop);
  }
}

/** The nearest-rank percentile of `values`, undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
