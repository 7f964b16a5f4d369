import { createRandom, type Random, sampleBeta } from './random';

/** Per-arm statistics, as every evolution log line records them. */
export interface ArmStats {
  pulls: number;
  /** Mean reward in [0, 1]. */
  meanReward: number;
  /** Pulls whose reward was above zero. */
  successes: number;
}

/** A multi-armed bandit over named arms (mutation strategies). */
export interface Bandit {
  readonly arms: readonly string[];
  /** Choose an arm. Randomised policies draw from `random` when given (the loop passes a seeded stream). */
  select(random?: Random): string;
  /** Record a reward in [0, 1] for an arm. */
  update(arm: string, reward: number): void;
  stats(): Record<string, ArmStats>;
  /**
   * Count a chosen arm as pulled until `clearPending()`: the loop marks each arm it picks for a generation before its
   * rewards are known, so deterministic policies spread one generation's candidates over several arms.
   */
  markPending?(arm: string): void;
  clearPending?(): void;
}

/** The built-in policies by name. */
export type BanditPolicy = 'ucb1' | 'thompson' | 'discounted-ucb' | 'sliding-window';

export const banditPolicies: readonly BanditPolicy[] = ['ucb1', 'thompson', 'discounted-ucb', 'sliding-window'];

/** Tracks pulls and mean rewards; policies extend it with their choice rule. */
export abstract class BanditBase implements Bandit {
  protected readonly table = new Map<string, ArmStats>();
  protected readonly pending = new Map<string, number>();

  constructor(readonly arms: readonly string[]) {
    if (arms.length === 0) throw new RangeError('a bandit needs at least one arm');
    if (new Set(arms).size !== arms.length) throw new RangeError(`bandit arms must be unique (got ${arms.join(', ')})`);
    for (const arm of arms) this.table.set(arm, { pulls: 0, meanReward: 0, successes: 0 });
  }

  abstract select(random?: Random): string;

  update(arm: string, reward: number): void {
    const s = this.table.get(arm);
    if (!s) throw new RangeError(`unknown arm "${arm}" (arms: ${this.arms.join(', ')})`);
    const r = clamp01(reward);
    s.pulls += 1;
    s.meanReward += (r - s.meanReward) / s.pulls;
    if (r > 0) s.successes += 1;
    this.observe(arm, r);
  }

  /** Policy-specific bookkeeping after the shared statistics were updated. */
  protected observe(_arm: string, _reward: number): void {}

  stats(): Record<string, ArmStats> {
    return Object.fromEntries([...this.table].map(([arm, s]) => [arm, { ...s }]));
  }

  markPending(arm: string): void {
    this.pending.set(arm, this.waiting(arm) + 1);
  }

  clearPending(): void {
    this.pending.clear();
  }

  /** Pulls chosen but not yet rewarded. */
  protected waiting(arm: string): number {
    return this.pending.get(arm) ?? 0;
  }

  /** The first arm never pulled nor pending, if any. */
  protected untried(): string | undefined {
    for (const [arm, s] of this.table) if (s.pulls + this.waiting(arm) === 0) return arm;
    return undefined;
  }
}

/** UCB1 (Auer et al. 2002): every arm once, then the arm maximising mean + sqrt(2 ln n / pulls). */
export class Ucb1Bandit extends BanditBase {
  select(): string {
    const fresh = this.untried();
    if (fresh !== undefined) return fresh;
    let total = 0;
    for (const [arm, s] of this.table) total += s.pulls + this.waiting(arm);
    return argmax(this.arms, (arm) => {
      const s = this.table.get(arm) as ArmStats;
      return s.meanReward + Math.sqrt((2 * Math.log(total)) / (s.pulls + this.waiting(arm)));
    });
  }
}

/**
 * Thompson sampling with a Beta(1 + Σr, 1 + n − Σr) posterior per arm: exact for Bernoulli rewards and the usual
 * fractional update for rewards in [0, 1]. Deterministic given the random stream, so a resumed run re-derives it.
 */
export class ThompsonBandit extends BanditBase {
  private readonly ownRandom: Random;

  constructor(arms: readonly string[], options: { seed?: number | string } = {}) {
    super(arms);
    this.ownRandom = createRandom(options.seed ?? 0, 'thompson');
  }

  select(random: Random = this.ownRandom): string {
    return argmax(this.arms, (arm) => {
      const s = this.table.get(arm) as ArmStats;
      const sum = s.meanReward * s.pulls;
      return sampleBeta(random, 1 + sum, 1 + s.pulls - sum);
    });
  }
}

/**
 * Discounted UCB (Garivier & Moulines 2011) for rewards that drift: every past observation's weight is multiplied by
 * `gamma` at each pull, so old evidence fades. `stats()` still reports undiscounted totals.
 */
export class DiscountedUcbBandit extends BanditBase {
  private readonly gamma: number;
  private readonly exploration: number;
  private readonly weight = new Map<string, number>();
  private readonly sum = new Map<string, number>();

  constructor(arms: readonly string[], options: { gamma?: number; exploration?: number } = {}) {
    super(arms);
    this.gamma = options.gamma ?? 0.99;
    this.exploration = options.exploration ?? 0.5;
    if (!(this.gamma > 0 && this.gamma <= 1)) throw new RangeError(`gamma must be in (0, 1] (got ${this.gamma})`);
    for (const arm of arms) {
      this.weight.set(arm, 0);
      this.sum.set(arm, 0);
    }
  }

  select(): string {
    const fresh = this.untried();
    if (fresh !== undefined) return fresh;
    let total = 0;
    for (const [arm, w] of this.weight) total += w + this.waiting(arm);
    return argmax(this.arms, (arm) => {
      const n = (this.weight.get(arm) as number) + this.waiting(arm);
      if (n < 1e-12) return Number.POSITIVE_INFINITY;
      const mean = (this.sum.get(arm) as number) / Math.max(1e-12, this.weight.get(arm) as number);
      return mean + 2 * Math.sqrt((this.exploration * Math.log(total)) / n);
    });
  }

  protected override observe(arm: string, reward: number): void {
    for (const a of this.arms) {
      this.weight.set(a, (this.weight.get(a) as number) * this.gamma);
      this.sum.set(a, (this.sum.get(a) as number) * this.gamma);
    }
    this.weight.set(arm, (this.weight.get(arm) as number) + 1);
    this.sum.set(arm, (this.sum.get(arm) as number) + reward);
  }
}

/**
 * Sliding-window UCB (Garivier & Moulines 2011): only the last `window` pulls count, so a strategy that stopped
 * paying off is dropped quickly. `stats()` still reports totals over the whole run.
 */
export class SlidingWindowUcbBandit extends BanditBase {
  private readonly window: number;
  private readonly exploration: number;
  private readonly recent: { arm: string; reward: number }[] = [];
  private readonly count = new Map<string, number>();
  private readonly sum = new Map<string, number>();

  constructor(arms: readonly string[], options: { window?: number; exploration?: number } = {}) {
    super(arms);
    this.window = options.window ?? 100;
    this.exploration = options.exploration ?? 0.5;
    if (!(Number.isInteger(this.window) && this.window >= 1)) {
      throw new RangeError(`window must be a positive integer (got ${this.window})`);
    }
    for (const arm of arms) {
      this.count.set(arm, 0);
      this.sum.set(arm, 0);
    }
  }

  select(): string {
    const fresh = this.untried();
    if (fresh !== undefined) return fresh;
    // Stryker disable next-line ArrowFunction: an arm with nothing in the window gets an infinite bonus below, so it is chosen either way
    const notInWindow = this.arms.find((a) => (this.count.get(a) as number) + this.waiting(a) === 0);
    if (notInWindow !== undefined) return notInWindow;
    let total = Math.min(this.recent.length, this.window);
    for (const arm of this.arms) total += this.waiting(arm);
    return argmax(this.arms, (arm) => {
      const counted = this.count.get(arm) as number;
      const mean = counted === 0 ? 0 : (this.sum.get(arm) as number) / counted;
      return mean + 2 * Math.sqrt((this.exploration * Math.log(total)) / (counted + this.waiting(arm)));
    });
  }

  protected override observe(arm: string, reward: number): void {
    this.recent.push({ arm, reward });
    this.count.set(arm, (this.count.get(arm) as number) + 1);
    this.sum.set(arm, (this.sum.get(arm) as number) + reward);
    if (this.recent.length > this.window) {
      const old = this.recent.shift() as { arm: string; reward: number };
      this.count.set(old.arm, (this.count.get(old.arm) as number) - 1);
      this.sum.set(old.arm, (this.sum.get(old.arm) as number) - old.reward);
    }
  }
}

/** Build a bandit by policy name (or pass an instance through unchanged). */
export function createBandit(
  policy: BanditPolicy | Bandit,
  arms: readonly string[],
  seed: number | string = 0,
): Bandit {
  if (typeof policy !== 'string') return policy;
  switch (policy) {
    case 'ucb1':
      return new Ucb1Bandit(arms);
    case 'thompson':
      return new ThompsonBandit(arms, { seed });
    case 'discounted-ucb':
      return new DiscountedUcbBandit(arms);
    case 'sliding-window':
      return new SlidingWindowUcbBandit(arms);
    default:
      throw new RangeError(`unknown bandit policy "${String(policy)}" (known: ${banditPolicies.join(', ')})`);
  }
}

function argmax(arms: readonly string[], value: (arm: string) => number): string {
  let best = arms[0] as string;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const arm of arms) {
    const v = value(arm);
    if (v > bestValue) {
      bestValue = v;
      best = arm;
    }
  }
  return best;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
