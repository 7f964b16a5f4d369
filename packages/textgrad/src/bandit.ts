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
  select(): string;
  /** Record a reward in [0, 1] for an arm. */
  update(arm: string, reward: number): void;
  stats(): Record<string, ArmStats>;
}

/** Tracks pulls and mean rewards; policies extend it with their choice rule. */
export abstract class BanditBase implements Bandit {
  protected readonly table = new Map<string, ArmStats>();

  constructor(readonly arms: readonly string[]) {
    if (arms.length === 0) throw new RangeError('a bandit needs at least one arm');
    for (const arm of arms) this.table.set(arm, { pulls: 0, meanReward: 0, successes: 0 });
  }

  abstract select(): string;

  update(arm: string, reward: number): void {
    const s = this.table.get(arm);
    if (!s) throw new RangeError(`unknown arm "${arm}" (arms: ${this.arms.join(', ')})`);
    const r = Math.min(1, Math.max(0, reward));
    s.pulls += 1;
    s.meanReward += (r - s.meanReward) / s.pulls;
    if (r > 0) s.successes += 1;
  }

  stats(): Record<string, ArmStats> {
    return Object.fromEntries([...this.table].map(([arm, s]) => [arm, { ...s }]));
  }
}

/** UCB1 (Auer et al. 2002): every arm once, then the arm maximising mean + sqrt(2 ln n / pulls). */
export class Ucb1Bandit extends BanditBase {
  select(): string {
    let total = 0;
    for (const s of this.table.values()) {
      if (s.pulls === 0) return this.arms[[...this.table.values()].indexOf(s)] as string;
      total += s.pulls;
    }
    let best = this.arms[0] as string;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const [arm, s] of this.table) {
      const score = s.meanReward + Math.sqrt((2 * Math.log(total)) / s.pulls);
      if (score > bestScore) {
        bestScore = score;
        best = arm;
      }
    }
    return best;
  }
}
