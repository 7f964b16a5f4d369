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

describe('convergenceSchedule: thresholds that cannot apply', () => {
  it('drops a threshold equal to the hard limit, keeps one just below it', () => {
    expect(convergenceSchedule([10, 20], 20).map((t) => t.calls)).toEqual([10]);
    expect(convergenceSchedule([10, 19], 20).map((t) => t.calls)).toEqual([10, 19]);
  });

  it('drops zero, negative and non-integer thresholds, and those that are not numbers at all', () => {
    expect(convergenceSchedule([0, -5, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 3]).map((t) => t.calls)).toEqual([3]);
    expect(convergenceSchedule([1]).map((t) => t.calls)).toEqual([1]);
  });

  it('sorts numerically, not as text', () => {
    expect(convergenceSchedule([100, 9, 20]).map((t) => t.calls)).toEqual([9, 20, 100]);
  });

  it('assigns firmness by rank after filtering, and repeats the last level beyond four thresholds', () => {
    expect(convergenceSchedule([1, 2, 3, 4, 5, 6], 100).map((t) => t.level)).toEqual([
      'consider wrapping up',
      'time to converge',
      'please synthesise your findings',
      'CRITICAL: give the final answer now',
      'CRITICAL: give the final answer now',
      'CRITICAL: give the final answer now',
    ]);
    expect(convergenceSchedule([0, 7], 100)).toEqual([{ calls: 7, level: 'consider wrapping up' }]);
  });

  it('is empty when every threshold is at or above the limit', () => {
    expect(convergenceSchedule(undefined, 50)).toEqual([]);
  });
});

describe('thresholdsCrossed: edges', () => {
  const schedule = convergenceSchedule([5, 10]);

  it('counts a threshold reached exactly, not one already passed before the turn', () => {
    expect(thresholdsCrossed(schedule, 4, 5).map((t) => t.calls)).toEqual([5]);
    expect(thresholdsCrossed(schedule, 5, 9)).toEqual([]);
    expect(thresholdsCrossed(schedule, 5, 10).map((t) => t.calls)).toEqual([10]);
  });

  it('reports nothing for a turn without calls', () => {
    expect(thresholdsCrossed(schedule, 5, 5)).toEqual([]);
  });
});
