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

/** Feed rewards arm by arm. */
function feedRewards<B extends Bandit>(bandit: B, rewards: [string, number][]): B {
  for (const [arm, reward] of rewards) bandit.update(arm, reward);
  return bandit;
}

describe('createBandit: the policy named', () => {
  it('builds the class each name stands for', () => {
    expect(createBandit('ucb1', ['x'])).toBeInstanceOf(Ucb1Bandit);
    expect(createBandit('thompson', ['x'])).toBeInstanceOf(ThompsonBandit);
    expect(createBandit('discounted-ucb', ['x'])).toBeInstanceOf(DiscountedUcbBandit);
    expect(createBandit('sliding-window', ['x'])).toBeInstanceOf(SlidingWindowUcbBandit);
    expect(banditPolicies).toEqual(['ucb1', 'thompson', 'discounted-ucb', 'sliding-window']);
  });

  it('seeds Thompson sampling with the given seed', () => {
    const picks = (bandit: Bandit) => Array.from({ length: 30 }, () => bandit.select());
    const arms = ['a', 'b', 'c', 'd'];
    expect(picks(createBandit('thompson', arms, 7))).toEqual(picks(new ThompsonBandit(arms, { seed: 7 })));
    expect(picks(createBandit('thompson', arms))).toEqual(picks(new ThompsonBandit(arms, { seed: 0 })));
    expect(picks(createBandit('thompson', arms, 7))).not.toEqual(picks(createBandit('thompson', arms, 8)));
  });

  it('lists the known policies when the name is unknown', () => {
    expect(() => createBandit('greedy' as never, ['x'])).toThrow(
      'unknown bandit policy "greedy" (known: ucb1, thompson, discounted-ucb, sliding-window)',
    );
  });
});

describe('BanditBase: statistics', () => {
  it('needs at least one arm, and names duplicates', () => {
    expect(() => new Ucb1Bandit([])).toThrow('a bandit needs at least one arm');
    expect(() => new Ucb1Bandit(['a', 'b', 'a'])).toThrow('bandit arms must be unique (got a, b, a)');
  });

  it('names the arms when an unknown one is rewarded', () => {
    expect(() => new Ucb1Bandit(['a', 'b']).update('z', 1)).toThrow('unknown arm "z" (arms: a, b)');
  });

  it('keeps a running mean, counts only rewards above zero as successes, clamps below zero', () => {
    const bandit = feedRewards(new Ucb1Bandit(['a', 'b']), [
      ['a', 1],
      ['a', 0],
      ['a', 0.5],
      ['a', -3],
    ]);
    expect(bandit.stats()).toEqual({
      a: { pulls: 4, meanReward: 0.375, successes: 2 },
      b: { pulls: 0, meanReward: 0, successes: 0 },
    });
  });

  it('hands out copies of its statistics', () => {
    const bandit = new Ucb1Bandit(['a']);
    const stats = bandit.stats();
    (stats.a as { pulls: number }).pulls = 99;
    expect(bandit.stats().a?.pulls).toBe(0);
  });

  it('counts pending pulls until cleared: an arm pending is not untried', () => {
    const bandit = new Ucb1Bandit(['a', 'b', 'c']);
    bandit.markPending('a');
    expect(bandit.select()).toBe('b');
    bandit.markPending('b');
    expect(bandit.select()).toBe('c');
    bandit.clearPending();
    expect(bandit.select()).toBe('a');
  });
});

describe('Ucb1Bandit: its choice rule', () => {
  it('breaks ties toward the first arm', () => {
    expect(
      feedRewards(new Ucb1Bandit(['a', 'b', 'c']), [
        ['a', 0.5],
        ['b', 0.5],
        ['c', 0.5],
      ]).select(),
    ).toBe('a');
  });

  it('prefers a less-pulled arm whose bonus outweighs a higher mean', () => {
    // a: mean 0.5 over 2 pulls → 0.5 + √(2 ln 3 / 2) ≈ 1.548; b: 0.2 over 1 → 0.2 + √(2 ln 3) ≈ 1.682.
    expect(
      feedRewards(new Ucb1Bandit(['a', 'b']), [
        ['a', 1],
        ['a', 0],
        ['b', 0.2],
      ]).select(),
    ).toBe('b');
    // b: 0 over 1 → √(2 ln 3) ≈ 1.482 < 1.548.
    expect(
      feedRewards(new Ucb1Bandit(['a', 'b']), [
        ['a', 1],
        ['a', 0],
        ['b', 0],
      ]).select(),
    ).toBe('a');
  });

  it('grows the bonus with the logarithm of all pulls', () => {
    // 20 pulls: a 0.9 over 15 → 0.9 + √(2 ln 20 / 15) ≈ 1.53; b 0.5 over 5 → 0.5 + √(2 ln 20 / 5) ≈ 1.59.
    const rewards: [string, number][] = [
      ...Array.from({ length: 15 }, (): [string, number] => ['a', 0.9]),
      ...Array.from({ length: 5 }, (): [string, number] => ['b', 0.5]),
    ];
    expect(feedRewards(new Ucb1Bandit(['a', 'b']), rewards).select()).toBe('b');
    expect(feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 1 }), rewards).select()).toBe('b');
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b']), rewards).select()).toBe('b');
  });

  it('counts pending pulls in the bonus', () => {
    const bandit = feedRewards(new Ucb1Bandit(['a', 'b']), [
      ['a', 0.5],
      ['b', 0.5],
    ]);
    bandit.markPending('a');
    expect(bandit.select()).toBe('b');
    bandit.markPending('b');
    bandit.markPending('b');
    expect(bandit.select()).toBe('a');
  });
});

describe('ThompsonBandit: its posterior', () => {
  it('draws from the stream it is given, else from its own seeded one', () => {
    const arms = ['a', 'b', 'c', 'd', 'e'];
    const own = new ThompsonBandit(arms, { seed: 3 });
    const twin = new ThompsonBandit(arms, { seed: 3 });
    const given = createRandom(9, 'x');
    const sameGiven = createRandom(9, 'x');
    const fromGiven = Array.from({ length: 20 }, () => own.select(given));
    expect(Array.from({ length: 20 }, () => twin.select(sameGiven))).toEqual(fromGiven);
    expect(Array.from({ length: 20 }, () => new ThompsonBandit(arms, { seed: 3 }).select())).not.toEqual(fromGiven);
  });

  it('prefers an arm that always paid over one never tried', () => {
    const bandit = feedRewards(
      new ThompsonBandit(['fresh', 'good'], { seed: 2 }),
      Array.from({ length: 30 }, (): [string, number] => ['good', 1]),
    );
    const picks = Array.from({ length: 200 }, () => bandit.select());
    expect(picks.filter((p) => p === 'good').length).toBeGreaterThan(180);
  });

  it('almost never picks an arm that always failed over one that always paid', () => {
    const bandit = feedRewards(new ThompsonBandit(['bad', 'good'], { seed: 1 }), [
      ...Array.from({ length: 30 }, (): [string, number] => ['bad', 0]),
      ...Array.from({ length: 30 }, (): [string, number] => ['good', 1]),
    ]);
    const picks = Array.from({ length: 200 }, () => bandit.select());
    expect(picks.filter((p) => p === 'good').length).toBeGreaterThan(195);
  });
});

describe('DiscountedUcbBandit: discounting', () => {
  it('accepts gamma in (0, 1] only', () => {
    expect(() => new DiscountedUcbBandit(['a'], { gamma: 0 })).toThrow('gamma must be in (0, 1] (got 0)');
    expect(() => new DiscountedUcbBandit(['a'], { gamma: 1.01 })).toThrow('gamma must be in (0, 1]');
    expect(() => new DiscountedUcbBandit(['a'], { gamma: Number.NaN })).toThrow('gamma');
    expect(new DiscountedUcbBandit(['a'], { gamma: 1 }).select()).toBe('a');
  });

  it('with gamma 1 behaves as UCB with the given exploration', () => {
    // a: mean 0.5 over 2, b: 0 over 1, exploration 0.5: a = 0.5 + 2√(0.5 ln 3 / 2) ≈ 1.548, b = 2√(0.5 ln 3) ≈ 1.482.
    const rewards: [string, number][] = [
      ['a', 1],
      ['a', 0],
      ['b', 0],
    ];
    expect(feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 1 }), rewards).select()).toBe('a');
    // More exploration lifts the less-pulled arm: b = 2√(2 ln 3) ≈ 2.96 > a = 0.5 + 2√(ln 3) ≈ 2.60.
    expect(feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 1, exploration: 2 }), rewards).select()).toBe('b');
  });

  it('forgets old rewards: a strong discount favours what paid lately', () => {
    const rewards: [string, number][] = [
      ...Array.from({ length: 6 }, (): [string, number] => ['a', 1]),
      ...Array.from({ length: 4 }, (): [string, number] => ['b', 0]),
      ['b', 1],
      ['b', 1],
      ['a', 0],
    ];
    expect(feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 1 }), rewards).select()).toBe('a');
    expect(feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 0.3 }), rewards).select()).toBe('b');
  });

  it('discounts the weight of every past pull', () => {
    // gamma 0.5: ten pulls of a weigh about 1 after b's pull, as much as b's one: a tie, broken toward a.
    const rewards: [string, number][] = [...Array.from({ length: 10 }, (): [string, number] => ['a', 0]), ['b', 0]];
    expect(feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 0.5 }), rewards).select()).toBe('a');
  });

  it('breaks ties toward the first arm and counts pending pulls', () => {
    const bandit = feedRewards(new DiscountedUcbBandit(['a', 'b'], { gamma: 1 }), [
      ['a', 0.5],
      ['b', 0.5],
    ]);
    expect(bandit.select()).toBe('a');
    bandit.markPending('a');
    expect(bandit.select()).toBe('b');
  });
});

describe('SlidingWindowUcbBandit: the window', () => {
  it('accepts a positive integer window only', () => {
    expect(() => new SlidingWindowUcbBandit(['a'], { window: 0 })).toThrow('window must be a positive integer (got 0)');
    expect(() => new SlidingWindowUcbBandit(['a'], { window: 2.5 })).toThrow('window must be a positive integer');
    expect(new SlidingWindowUcbBandit(['a'], { window: 1 }).select()).toBe('a');
  });

  it('forgets pulls older than the window: an arm that left it is tried again', () => {
    const rewards: [string, number][] = [
      ['a', 0],
      ['b', 1],
      ['b', 1],
      ['b', 1],
    ];
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b'], { window: 2 }), rewards).select()).toBe('a');
    // With a window holding every pull, b (mean 1) wins.
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b'], { window: 10 }), rewards).select()).toBe('b');
  });

  it('forgets the reward of a pull that left the window along with the pull', () => {
    // Window 3 ends as [b:0, a:0, a:0]: a's mean is 0, not 1/3, so b (fewer pulls) wins on its bonus.
    const rewards: [string, number][] = [
      ['a', 1],
      ['b', 0],
      ['a', 0],
      ['a', 0],
    ];
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b'], { window: 3 }), rewards).select()).toBe('b');
  });

  it('holds exactly the last `window` pulls', () => {
    // Window 3 holds a:0, b:1, b:1: b wins on its mean. Were a's pull gone, a would be tried again.
    const rewards: [string, number][] = [
      ['a', 0],
      ['b', 1],
      ['b', 1],
    ];
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b'], { window: 3 }), rewards).select()).toBe('b');
  });

  it('gives an arm that is only pending in the window a mean of zero and a bonus for its pending pulls', () => {
    const bandit = feedRewards(new SlidingWindowUcbBandit(['a', 'b', 'c'], { window: 2 }), [
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]);
    bandit.markPending('a');
    // Every arm: mean 0 over one pull (a's pending), the same bonus: the tie goes to a.
    expect(bandit.select()).toBe('a');
  });

  it('does not take an arm with pulls in the window and pending for one with nothing in it', () => {
    const bandit = feedRewards(new SlidingWindowUcbBandit(['a', 'b', 'c'], { window: 10 }), [
      ['a', 0],
      ['b', 1],
      ['c', 1],
    ]);
    bandit.markPending('a');
    expect(bandit.select()).not.toBe('a');
  });

  it('keeps whole-run totals in its statistics', () => {
    const bandit = feedRewards(new SlidingWindowUcbBandit(['a', 'b'], { window: 1 }), [
      ['a', 1],
      ['b', 0],
      ['a', 1],
    ]);
    expect(bandit.stats().a).toEqual({ pulls: 2, meanReward: 1, successes: 2 });
  });

  it('tries an arm with no pull in the window, even when pending elsewhere', () => {
    const bandit = feedRewards(new SlidingWindowUcbBandit(['a', 'b', 'c'], { window: 2 }), [
      ['a', 1],
      ['b', 1],
      ['c', 1],
      ['b', 1],
    ]);
    expect(bandit.select()).toBe('a');
    bandit.markPending('a');
    expect(bandit.select()).not.toBe('a');
  });

  it('with a window over every pull behaves as UCB with the given exploration', () => {
    const rewards: [string, number][] = [
      ['a', 1],
      ['a', 0],
      ['b', 0],
    ];
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b']), rewards).select()).toBe('a');
    expect(feedRewards(new SlidingWindowUcbBandit(['a', 'b'], { exploration: 2 }), rewards).select()).toBe('b');
  });

  it('breaks ties toward the first arm', () => {
    expect(
      feedRewards(new SlidingWindowUcbBandit(['a', 'b']), [
        ['a', 0.5],
        ['b', 0.5],
      ]).select(),
    ).toBe('a');
  });
});
