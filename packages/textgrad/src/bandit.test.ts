import { describe, expect, it } from 'vitest';
import { Ucb1Bandit } from './bandit';

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
