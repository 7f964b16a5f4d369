import { describe, expect, it } from 'vitest';
import type { CallRecord } from './call-record';
import { StuckDetector, type StuckPattern } from './stuck-detector';

const call = (fingerprint: string, result = 'same', ok = true): CallRecord => ({
  name: fingerprint.split(' ')[0] as string,
  fingerprint,
  resultFingerprint: result,
  ok,
  paths: [],
  ...(ok ? {} : { error: `boom ${result}` }),
});

function feed(detector: StuckDetector, records: CallRecord[]): (StuckPattern | undefined)[] {
  return records.map((r) => detector.recordCall(r));
}

describe('StuckDetector', () => {
  it('reports the same call with the same result on its fourth time in a row', () => {
    const seen = feed(
      new StuckDetector(),
      Array.from({ length: 5 }, () => call('read_file {"path":"a"}')),
    );
    expect(seen.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(seen[3]).toMatchObject({ kind: 'repeated-call', count: 4, tools: ['read_file'] });
    expect(seen[3]?.description).toBe('read_file {"path":"a"} returned the same result 4 times in a row');
    expect(seen[4]).toMatchObject({ kind: 'repeated-call', count: 5, key: seen[3]?.key });
  });

  it('does not report polling whose result changes', () => {
    const seen = feed(
      new StuckDetector(),
      Array.from({ length: 12 }, (_, i) => call('execute_command {"command":"status"}', `progress ${i}`)),
    );
    expect(seen.every((p) => p === undefined)).toBe(true);
  });

  it('reports the same call failing three times, even with other calls in between', () => {
    const detector = new StuckDetector();
    const seen = feed(detector, [
      call('execute_command {"command":"make"}', 'e1', false),
      call('read_file {"path":"Makefile"}'),
      call('execute_command {"command":"make"}', 'e2', false),
      call('execute_command {"command":"make"}', 'e3', false),
    ]);
    expect(seen.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(seen[3]).toMatchObject({ kind: 'repeated-failure', count: 3 });
    expect(seen[3]?.description).toContain('failed 3 times, last with: boom e3');
  });

  it('forgets failures of a call once it succeeds', () => {
    const seen = feed(new StuckDetector(), [
      call('x {}', 'e', false),
      call('x {}', 'e', false),
      call('x {}', 'fine'),
      call('x {}', 'e', false),
      call('x {}', 'e', false),
    ]);
    expect(seen.every((p) => p === undefined)).toBe(true);
  });

  it('reports two calls taking turns with unchanged results over six calls', () => {
    const a = call('read_file {"path":"a"}');
    const b = call('read_file {"path":"b"}');
    const seen = feed(new StuckDetector(), [a, b, a, b, a, b, a]);
    expect(seen.slice(0, 5).every((p) => p === undefined)).toBe(true);
    expect(seen[5]).toMatchObject({ kind: 'alternation', count: 6 });
    expect(seen[5]?.description).toContain('alternating between read_file {"path":"a"} and read_file {"path":"b"}');
    expect(seen[6]?.key).toBe(seen[5]?.key);
  });

  it('reports a cycle of three calls over nine', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((p) => call(`read_file {"path":"${p}"}`)) as CallRecord[];
    const seen = feed(new StuckDetector(), [a, b, c, a, b, c, a, b, c] as CallRecord[]);
    expect(seen.slice(0, 8).every((p) => p === undefined)).toBe(true);
    expect(seen[8]).toMatchObject({ kind: 'alternation', count: 9 });
  });

  it('does not report alternation when one side makes progress', () => {
    const seen = feed(
      new StuckDetector(),
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? call('check {}', `t${i}`) : call('sleep {}'))),
    );
    expect(seen.every((p) => p === undefined)).toBe(true);
  });

  it('reports empty replies in a row and resets on a real one', () => {
    const detector = new StuckDetector({ emptyReplies: 2 });
    expect(detector.recordReply(true)).toBeUndefined();
    expect(detector.recordReply(true)).toMatchObject({ kind: 'empty-replies', count: 2 });
    expect(detector.recordReply(false)).toBeUndefined();
    expect(detector.recordReply(true)).toBeUndefined();
  });

  it('takes its thresholds from options', () => {
    const seen = feed(new StuckDetector({ repeatedCall: 2 }), [call('x {}'), call('x {}')]);
    expect(seen[1]).toMatchObject({ kind: 'repeated-call', count: 2 });
  });
});
