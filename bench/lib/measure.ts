/** Small helpers shared by the benchmarks: repeated timing, medians, percentiles and a ratio table. */

interface Sample {
  name: string;
  /** Wall times in milliseconds, one per iteration. */
  times: number[];
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/**
 * Time `fn` `iterations` times after `warmup` untimed runs. Candidates are interleaved by the caller (see
 * `compare`) so that drift on a shared machine affects baseline and candidate alike.
 */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Run each contender once per round, in rotating order, and collect their times. */
export async function compare(
  contenders: Record<string, () => Promise<unknown>>,
  options: { rounds: number; warmup?: number },
): Promise<Sample[]> {
  const names = Object.keys(contenders);
  for (let i = 0; i < (options.warmup ?? 20); i++) for (const name of names) await contenders[name]?.();
  const samples = new Map(names.map((n) => [n, [] as number[]]));
  for (let round = 0; round < options.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    for (const name of order) samples.get(name)?.push(await time(contenders[name] as () => Promise<unknown>));
  }
  return names.map((name) => ({ name, times: samples.get(name) ?? [] }));
}

/** Print a table of medians and p95s, with each row's median as a ratio of the baseline's. */
export function report(title: string, samples: readonly Sample[], baseline: string): void {
  const base = samples.find((s) => s.name === baseline);
  if (!base) throw new Error(`no baseline "${baseline}"`);
  const baseMedian = median(base.times);
  console.log(`\n${title}`);
  console.log(`${'contender'.padEnd(36)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(10)} ${'ratio'.padStart(8)}`);
  for (const s of samples) {
    const m = median(s.times);
    console.log(
      `${s.name.padEnd(36)} ${m.toFixed(3).padStart(10)} ${percentile(s.times, 95).toFixed(3).padStart(10)} ${(m / baseMedian).toFixed(3).padStart(7)}×`,
    );
  }
}

/** One line a benchmark prints per goal: the figure, the goal, and whether it was met. */
export function goal(name: string, value: number, limit: number, unit: string, better: 'lower' | 'higher' = 'lower') {
  const met = better === 'lower' ? value <= limit : value >= limit;
  console.log(
    `goal ${met ? 'MET ' : 'MISSED'} ${name}: ${value.toFixed(3)}${unit} (goal ${better === 'lower' ? '≤' : '≥'} ${limit}${unit})`,
  );
  return met;
}
