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

describe('StuckDetector: what it reports, exactly', () => {
  it('keys and describes a repeated call by call and result', () => {
    const detector = new StuckDetector({ repeatedCall: 2 });
    detector.recordCall(call('x {"a":1}', 'r1'));
    expect(detector.recordCall(call('x {"a":1}', 'r1'))).toEqual({
      kind: 'repeated-call',
      key: 'repeat:x {"a":1}\0r1',
      description: 'x {"a":1} returned the same result 2 times in a row',
      count: 2,
      tools: ['x'],
    });
  });

  it('counts a run only while call and result both stay the same', () => {
    const detector = new StuckDetector({ repeatedCall: 3 });
    const seen = feed(detector, [call('x {}', 'r1'), call('x {}', 'r2'), call('x {}', 'r2'), call('y {}', 'r2')]);
    expect(seen).toEqual([undefined, undefined, undefined, undefined]);
    expect(detector.recordCall(call('y {}', 'r2'))).toBeUndefined();
    expect(detector.recordCall(call('y {}', 'r2'))).toMatchObject({ kind: 'repeated-call', count: 3 });
  });

  it('remembers a bounded history: a long run is counted up to four times the largest window', () => {
    const seen = feed(
      new StuckDetector(),
      Array.from({ length: 40 }, () => call('x {}')),
    );
    expect(seen[34]?.count).toBe(35);
    expect(seen[35]?.count).toBe(36);
    expect(seen[39]?.count).toBe(36);
    const wide = feed(
      new StuckDetector({ repeatedCall: 10 }),
      Array.from({ length: 45 }, () => call('x {}')),
    );
    expect(wide[44]?.count).toBe(40);
    const alternating = feed(
      new StuckDetector({ alternationSteps: 12, repeatedCall: 1000 }),
      Array.from({ length: 60 }, () => call('x {}')),
    );
    expect(alternating.every((p) => p === undefined)).toBe(true);
  });

  it('shows a long call cut to 100 characters', () => {
    const long = `write_file {"content":"${'a'.repeat(200)}"}`;
    const pattern = feed(
      new StuckDetector(),
      Array.from({ length: 4 }, () => call(long)),
    )[3];
    const shown = pattern?.description.replace(' returned the same result 4 times in a row', '');
    expect(shown).toBe(`${long.slice(0, 99)}…`);
    const exact = `x ${'b'.repeat(98)}`;
    expect(
      feed(
        new StuckDetector(),
        Array.from({ length: 4 }, () => call(exact)),
      )[3]?.description,
    ).toBe(`${exact} returned the same result 4 times in a row`);
  });

  it('keys a repeated failure by the call, names its last error, and reports it before the repeated call', () => {
    const detector = new StuckDetector();
    const seen = feed(detector, [
      call('make {}', 'e', false),
      call('make {}', 'e', false),
      call('make {}', 'e', false),
    ]);
    expect(seen[2]).toEqual({
      kind: 'repeated-failure',
      key: 'failure:make {}',
      description: 'make {} failed 3 times, last with: boom e',
      count: 3,
      tools: ['make'],
    });
    expect(detector.recordCall(call('make {}', 'e', false))).toMatchObject({ kind: 'repeated-failure', count: 4 });
  });

  it('names only the first line of the error, and no error when there is none', () => {
    const detector = new StuckDetector({ repeatedFailure: 1 });
    expect(detector.recordCall({ ...call('a {}', 'e', false), error: 'line one\nline two' })?.description).toBe(
      'a {} failed 1 times, last with: line one',
    );
    const { error: _none, ...silent } = call('b {}', 'e', false);
    expect(detector.recordCall(silent)?.description).toBe('b {} failed 1 times');
  });

  it('counts failures per call: a success of another call does not reset them', () => {
    const detector = new StuckDetector({ repeatedFailure: 2 });
    expect(detector.recordCall(call('a {}', 'e1', false))).toBeUndefined();
    expect(detector.recordCall(call('b {}', 'fine'))).toBeUndefined();
    expect(detector.recordCall(call('a {}', 'e2', false))).toMatchObject({ kind: 'repeated-failure', count: 2 });
  });

  it('keys an alternation by its calls whatever the order, and lists each tool once', () => {
    const a = call('read_file {"path":"a"}', 'ra');
    const b = call('read_file {"path":"b"}', 'rb');
    const first = feed(new StuckDetector({ alternationSteps: 4 }), [a, b, a, b])[3];
    const second = feed(new StuckDetector({ alternationSteps: 4 }), [b, a, b, a])[3];
    expect(first).toEqual({
      kind: 'alternation',
      key: 'cycle:read_file {"path":"a"}\0ra\nread_file {"path":"b"}\0rb',
      description:
        'alternating between read_file {"path":"a"} and read_file {"path":"b"} with unchanged results over 4 calls',
      count: 4,
      tools: ['read_file'],
    });
    expect(second?.key).toBe(first?.key);
    expect(second?.description).toContain('between read_file {"path":"b"} and read_file {"path":"a"}');
  });

  it('looks for a cycle in the latest calls only, and names the calls of one round', () => {
    const [x, a, b] = [call('x {}'), call('a {}'), call('b {}')];
    const seen = feed(new StuckDetector({ alternationSteps: 4 }), [x, a, b, a, b]);
    expect(seen[4]).toMatchObject({
      kind: 'alternation',
      count: 4,
      description: 'alternating between a {} and b {} with unchanged results over 4 calls',
    });
  });

  it('needs at least two rounds of a cycle, and more with a longer alternation window', () => {
    const a = call('a {}');
    const b = call('b {}');
    expect(feed(new StuckDetector({ alternationSteps: 1 }), [a, b, a])).toEqual([undefined, undefined, undefined]);
    expect(feed(new StuckDetector({ alternationSteps: 1 }), [a, b, a, b])[3]).toMatchObject({ count: 4 });
    const odd = feed(new StuckDetector({ alternationSteps: 7 }), [a, b, a, b, a, b, a, b]);
    expect(odd.slice(0, 7).every((p) => p === undefined)).toBe(true);
    expect(odd[7]).toMatchObject({ kind: 'alternation', count: 8 });
  });

  it('reports a three-call cycle with its tools, and not a broken one', () => {
    const [a, b, c] = [call('a {}'), call('b {}'), call('c {}')];
    const seen = feed(new StuckDetector({ alternationSteps: 4 }), [a, b, c, a, b, c]);
    expect(seen[5]).toMatchObject({ kind: 'alternation', count: 6, tools: ['a', 'b', 'c'] });
    const broken = feed(new StuckDetector({ alternationSteps: 4 }), [a, b, c, a, c, b]);
    expect(broken.every((p) => p === undefined)).toBe(true);
  });

  it('does not call the same call repeated an alternation', () => {
    const seen = feed(
      new StuckDetector({ repeatedCall: 100 }),
      Array.from({ length: 12 }, () => call('x {}')),
    );
    expect(seen.every((p) => p === undefined)).toBe(true);
  });

  it('describes empty replies', () => {
    const detector = new StuckDetector();
    detector.recordReply(true);
    expect(detector.recordReply(true)).toEqual({
      kind: 'empty-replies',
      key: 'empty-replies',
      description: '2 empty replies in a row (no text and no tool calls)',
      count: 2,
      tools: [],
    });
    expect(detector.recordReply(true)).toMatchObject({ count: 3 });
    expect(new StuckDetector({ emptyReplies: 1 }).recordReply(true)).toMatchObject({ count: 1 });
    expect(new StuckDetector({ emptyReplies: 3 }).recordReply(true)).toBeUndefined();
  });
});
