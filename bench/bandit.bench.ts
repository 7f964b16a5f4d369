// Bandit regret at T = 10,000 pulls, averaged over 50 seeds, on (a) five Bernoulli arms 0.9/0.8/0.7/0.6/0.5 and
// (b) sparse arms 0.10/0.06/0.03/0.01, each policy against uniform choice (the baseline of the same run). Regret is
// the pseudo-regret T·μ* − Σ μ(chosen arm). Reference figures from an independent simulation are printed beside ours.
import {
  type Bandit,
  createRandom,
  DiscountedUcbBandit,
  SlidingWindowUcbBandit,
  ThompsonBandit,
  Ucb1Bandit,
} from '@unity/textgrad';
import { goal } from './lib/measure';

const T = 10_000;
const SEEDS = 50;
const problems = {
  a: [0.9, 0.8, 0.7, 0.6, 0.5],
  b: [0.1, 0.06, 0.03, 0.01],
} as const;
const reference: Record<string, { a?: number; b?: number }> = {
  uniform: { a: 2002, b: 501 },
  ucb1: { a: 230, b: 238 },
  thompson: { a: 33, b: 29 },
};

class UniformBandit implements Bandit {
  private readonly random;
  constructor(
    readonly arms: readonly string[],
    seed: number,
  ) {
    this.random = createRandom(seed, 'uniform');
  }
  select(): string {
    return this.arms[Math.floor(this.random() * this.arms.length)] as string;
  }
  update(): void {}
  stats() {
    return {};
  }
}

const policies: Record<string, (arms: readonly string[], seed: number) => Bandit> = {
  uniform: (arms, seed) => new UniformBandit(arms, seed),
  ucb1: (arms) => new Ucb1Bandit(arms),
  thompson: (arms, seed) => new ThompsonBandit(arms, { seed }),
  'discounted-ucb': (arms) => new DiscountedUcbBandit(arms),
  'sliding-window': (arms) => new SlidingWindowUcbBandit(arms),
};

function regret(make: (arms: readonly string[], seed: number) => Bandit, means: readonly number[]) {
  const arms = means.map((_, i) => `arm${i}`);
  const best = Math.max(...means);
  let total = 0;
  for (let seed = 0; seed < SEEDS; seed++) {
    const bandit = make(arms, seed);
    const rewards = createRandom(seed, 'rewards');
    let r = 0;
    for (let t = 0; t < T; t++) {
      const arm = bandit.select();
      const mean = means[arms.indexOf(arm)] as number;
      r += best - mean;
      bandit.update(arm, rewards() < mean ? 1 : 0);
    }
    total += r;
  }
  return total / SEEDS;
}

console.log(`\nbandit regret at T=${T}, mean over ${SEEDS} seeds (ratio = regret / uniform's regret in this run)`);
console.log(
  `${'policy'.padEnd(16)} ${'(a) regret'.padStart(11)} ${'ref'.padStart(6)} ${'ratio'.padStart(7)}   ${'(b) regret'.padStart(11)} ${'ref'.padStart(6)} ${'ratio'.padStart(7)}   ${'µs/pull'.padStart(8)}`,
);
const results: Record<string, { a: number; b: number }> = {};
for (const [name, make] of Object.entries(policies)) {
  const started = performance.now();
  const a = regret(make, problems.a);
  const b = regret(make, problems.b);
  const usPerPull = ((performance.now() - started) * 1000) / (2 * T * SEEDS);
  results[name] = { a, b };
  const uniform = results.uniform as { a: number; b: number };
  const ref = reference[name] ?? {};
  console.log(
    `${name.padEnd(16)} ${a.toFixed(1).padStart(11)} ${String(ref.a ?? '—').padStart(6)} ${(a / uniform.a).toFixed(3).padStart(6)}×   ${b.toFixed(1).padStart(11)} ${String(ref.b ?? '—').padStart(6)} ${(b / uniform.b).toFixed(3).padStart(6)}×   ${usPerPull.toFixed(2).padStart(8)}`,
  );
}
const r = results as Record<'ucb1' | 'thompson', { a: number; b: number }>;
// Goals: within 1.5× of the reference figures for the two policies the reference names.
goal('UCB1 regret (a) vs reference 230', r.ucb1.a / 230, 1.5, '×');
goal('UCB1 regret (b) vs reference 238', r.ucb1.b / 238, 1.5, '×');
goal('Thompson regret (a) vs reference 33', r.thompson.a / 33, 1.5, '×');
goal('Thompson regret (b) vs reference 29', r.thompson.b / 29, 1.5, '×');
