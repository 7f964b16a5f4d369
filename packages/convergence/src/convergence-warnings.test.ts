import { describe, expect, it } from 'vitest';
import { convergenceSchedule, thresholdsCrossed } from './convergence-warnings';

describe('convergenceSchedule', () => {
  it('pairs the seed thresholds with rising firmness', () => {
    expect(convergenceSchedule().map((t) => [t.calls, t.level])).toEqual([
      [50, 'consider wrapping up'],
      [100, 'time to converge'],
      [200, 'please synthesise your findings'],
      [500, 'CRITICAL: give the final answer now'],
    ]);
  });

  it('ignores thresholds at or above the hard limit, and sorts and de-duplicates the rest', () => {
    expect(convergenceSchedule([200, 50, 50, 1000], 300).map((t) => t.calls)).toEqual([50, 200]);
  });
});

describe('thresholdsCrossed', () => {
  it('reports every threshold a turn with many calls jumps over', () => {
    const schedule = convergenceSchedule([5, 10, 20]);
    expect(thresholdsCrossed(schedule, 4, 12).map((t) => t.calls)).toEqual([5, 10]);
    expect(thresholdsCrossed(schedule, 12, 19)).toEqual([]);
  });
});
