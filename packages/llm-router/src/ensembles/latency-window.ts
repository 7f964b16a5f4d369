import type { HedgePercentile } from './ensemble-config';

/** Times kept per key: the most recent only, so that the figure follows a model whose speed changes. */
const windowSize = 50;
/** Fewer times than this say nothing worth waiting for. */
const minSamples = 5;

/**
 * Recent times to first token per member model, for `race`'s hedging (`hedge: p95`): the next member starts once the
 * previous one has been silent for longer than that percentile of its own recent times. In-process, one per router.
 */
export class LatencyWindow {
  private readonly times = new Map<string, number[]>();

  /** A time to first token (members cancelled before theirs add none). */
  record(key: string, ms: number): void {
    let times = this.times.get(key);
    if (!times) {
      times = [];
      this.times.set(key, times);
    }
    times.push(ms);
    if (times.length > windowSize) times.shift();
  }

  /** The percentile of the key's recent times, or undefined until it has a few. */
  percentile(key: string, which: HedgePercentile): number | undefined {
    const times = this.times.get(key);
    if (!times || times.length < minSamples) return undefined;
    const sorted = [...times].sort((a, b) => a - b);
    const p = Number(which.slice(1)) / 100;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  }
}
