import { describe, expect, it } from 'vitest';
import { countToolOutcomes, summariseActivity } from './activity-summary';
import type { CallRecord } from './call-record';

function record(name: string, args: { path?: string; q?: string } = {}, ok = true): CallRecord {
  return {
    name,
    fingerprint: `${name} ${JSON.stringify(args)}`,
    resultFingerprint: 'r',
    ok,
    paths: args.path === undefined ? [] : [args.path],
  };
}

describe('summariseActivity', () => {
  it('says how many of the recent calls went to the busiest tool, on how many files, and that nothing was written', () => {
    const records = [
      ...Array.from({ length: 10 }, (_, i) => record('search_files', { q: `p${i}` })),
      ...Array.from({ length: 22 }, (_, i) => record('read_file', { path: ['a.ts', 'b.ts', 'c.ts'][i % 3] })),
      ...Array.from({ length: 8 }, (_, i) => record('search_files', { q: `q${i}` })),
    ];
    expect(summariseActivity(records)).toBe(
      '22 of the last 30 calls were read_file on 3 files, 8 were search_files with 8 distinct arguments; no writes',
    );
  });

  it('counts writes and the files they went to, and failures', () => {
    const records = [
      record('write_file', { path: 'out.md' }),
      record('write_file', { path: 'out.md' }),
      record('execute_command', { q: 'make' }, false),
    ];
    expect(summariseActivity(records)).toBe(
      '2 of the 3 calls so far were write_file on 1 file, 1 was execute_command; 2 writes to 1 file; 1 failed',
    );
  });

  it('names a tool called repeatedly with the same arguments', () => {
    expect(summariseActivity([record('list_files'), record('list_files')])).toBe(
      '2 of the 2 calls so far were list_files with the same arguments; no writes',
    );
  });

  it('folds tools beyond the four busiest into one count', () => {
    const records = ['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd', 'e', 'f'].map((n) => record(n));
    expect(summariseActivity(records, { window: 10 })).toMatch(/, 2 went to 2 other tools; no writes$/);
  });

  it('says so when there were no calls', () => {
    expect(summariseActivity([])).toBe('no tool calls yet');
  });
});

describe('countToolOutcomes', () => {
  it('counts the calls that succeeded and those that failed', () => {
    const records = [
      record('read_file'),
      record('execute_command', {}, false),
      record('read_file'),
      record('x', {}, false),
    ];
    expect(countToolOutcomes(records)).toEqual({ succeeded: 2, failed: 2 });
  });

  it('counts nothing for a run without tool calls', () => {
    expect(countToolOutcomes([])).toEqual({ succeeded: 0, failed: 0 });
  });
});
