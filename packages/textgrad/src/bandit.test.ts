import { describe, expect, it } from 'vitest';
import {
  type Bandit,
  banditPolicies,
  createBandit,
  DiscountedUcbBandit,
  SlidingWindowUcbBandit,
  ThompsonBandit,
  Ucb1Bandit,
} from './bandit';
import { createRandom } from './random';

describe('Ucb1Bandit', () => {
  it('tries every arm once before exploiting', () => {
    const bandit = new Ucb1Bandit(['rewrite', 'diff', 'simplify']);
    const first = [0, 1, 2].map(() => {
      const arm = bandit.select();
      bandit.update(arm, 0);
      return arm;
    });
    expect(first).toEqual(['rewrite', 'diff', 'simplify']);
  });

  it('converges on the arm that pays', () => {
    const bandit = new Ucb1Bandit(['a', 'b']);
    for (let i = 0; i < 500; i++) {
      const arm = bandit.select();
      bandit.update(arm, arm === 'b' ? 1 : 0);
    }
    const stats = bandit.stats();
    expect(stats.b?.pulls).toBeGreaterThan(450);
    expect(stats.b?.meanReward).toBe(1);
    expect(stats.a?.successes).toBe(0);
  });

  it('rejects an unknown arm', () => {
    expect(() => new Ucb1Bandit(['a']).update('z', 1)).toThrow('unknown arm "z"');
  });
});

function bernoulliRun(bandit: Bandit, means: Record<string, number>, pulls: number, seed: number) {
  const random = createRandom(seed, 'rewards');
  for (let i = 0; i < pulls; i++) {
    const arm = bandit.select();
    bandit.update(arm, random() < (means[arm] as number) ? 1 : 0);
  }
  return bandit.stats();
}

describe('ThompsonBandit', () => {
  it('concentrates its pulls on the best Bernoulli arm', () => {
    const stats = bernoulliRun(new ThompsonBandit(['a', 'b', 'c'], { seed: 1 }), { a: 0.2, b: 0.8, c: 0.5 }, 2000, 1);
    expect(stats.b?.pulls).toBeGreaterThan(1800);
  });

  it('chooses the same arms from the same random stream', () => {
    const pick = () => {
      const bandit = new ThompsonBandit(['a', 'b', 'c']);
      bandit.update('a', 0.3);
      return Array.from({ length: 20 }, (_, i) => bandit.select(createRandom(5, i)));
    };
    expect(pick()).toEqual(pick());
  });
});

describe('drifting rewards', () => {
  for (const [name, make] of [
    ['DiscountedUcbBandit', () => new DiscountedUcbBandit(['a', 'b'], { gamma: 0.98 })],
    ['SlidingWindowUcbBandit', () => new SlidingWindowUcbBandit(['a', 'b'], { window: 50 })],
  ] as const) {
    it(`${name} switches to the other arm after the better one stops paying`, () => {
      const bandit = make();
      bernoulliRun(bandit, { a: 0.9, b: 0.1 }, 500, 2);
      const before = bandit.stats().b?.pulls as number;
      bernoulliRun(bandit, { a: 0.1, b: 0.9 }, 500, 3);
      expect((bandit.stats().b?.pulls as number) - before).toBeGreaterThan(300);
    });
  }
});

describe('pending pulls', () => {
  it('spread a batch chosen before its rewards over several arms, and are forgotten when cleared', () => {
    for (const bandit of [
      new Ucb1Bandit(['a', 'b', 'c']),
      new DiscountedUcbBandit(['a', 'b', 'c']),
      new SlidingWindowUcbBandit(['a', 'b', 'c']),
    ]) {
      for (const arm of ['a', 'b', 'c']) bandit.update(arm, arm === 'a' ? 0.6 : 0.5);
      const batch = Array.from({ length: 3 }, () => {
        const arm = bandit.select();
        bandit.markPending(arm);
        return arm;
      });
      expect(new Set(batch).size).toBeGreaterThan(1);
      bandit.clearPending();
      expect(bandit.select()).toBe('a');
    }
  });
});

describe('createBandit', () => {
  it('builds each policy by name and passes an instance through', () => {
    for (const policy of banditPolicies) expect(createBandit(policy, ['x']).arms).toEqual(['x']);
    const own = new Ucb1Bandit(['x']);
    expect(createBandit(own, ['x'])).toBe(own);
    expect(() => createBandit('greedy' as never, ['x'])).toThrow('unknown bandit policy "greedy"');
  });

  it('rejects duplicate arms and clamps rewards into [0, 1]', () => {
    expect(() => new Ucb1Bandit(['a', 'a'])).toThrow('unique');
    const bandit = new Ucb1Bandit(['a']);
    bandit.update('a', 7);
    bandit.update('a', Number.NaN);
    expect(bandit.stats().a).toEqual({ pulls: 2, meanReward: 0.5, successes: 1 });
  });
});
