import { describe, expect, it } from 'vitest';
import { answerJson, checkAnswer, firstDifference } from './task-check';

const text = (content: string) => ({ content, toolCalls: [] });
const call = (name: string, args: Record<string, unknown>) => ({
  id: 'c1',
  name,
  arguments: args,
  rawArguments: JSON.stringify(args),
});

describe('checkAnswer', () => {
  it('passes a regex check on a match, honouring its flags, and names the pattern otherwise', () => {
    const check = { type: 'regex' as const, pattern: 'select\\s+count', flags: 'i' };
    expect(checkAnswer(check, text('SELECT COUNT(*) FROM users'))).toEqual({ passed: true });
    expect(checkAnswer(check, text('DELETE FROM users'))).toEqual({
      passed: false,
      reason: 'no match for /select\\s+count/i',
    });
  });

  it('passes a contains check only when every text is there, naming the missing ones', () => {
    const check = { type: 'contains' as const, text: ['Paris', 'France'], ignoreCase: false };
    expect(checkAnswer(check, text('Paris, France'))).toEqual({ passed: true });
    expect(checkAnswer(check, text('paris'))).toEqual({ passed: false, reason: 'missing "Paris", "France"' });
    expect(checkAnswer({ ...check, ignoreCase: true }, text('PARIS is in FRANCE'))).toEqual({ passed: true });
  });

  it('finds JSON in a fence or among prose, and compares objects by the expected keys', () => {
    const check = { type: 'json' as const, matches: { language: 'TypeScript', typed: true } };
    expect(checkAnswer(check, text('```json\n{"language": "TypeScript", "typed": true, "year": 2012}\n```'))).toEqual({
      passed: true,
    });
    expect(checkAnswer(check, text('Here: {"language": "TypeScript", "typed": false}. Done.'))).toEqual({
      passed: false,
      reason: 'JSON differs at typed: expected true, got false',
    });
    expect(checkAnswer(check, text('no json here'))).toEqual({ passed: false, reason: 'the answer holds no JSON' });
    expect(checkAnswer({ type: 'json' }, text('[1, 2]'))).toEqual({ passed: true });
  });

  it('passes a tool-call check when one call to the tool carries the arguments, extra ones allowed', () => {
    const check = { type: 'tool_call' as const, name: 'get_weather', arguments: { city: 'Paris' } };
    const answer = (...calls: ReturnType<typeof call>[]) => ({ content: '', toolCalls: calls });
    expect(
      checkAnswer(
        check,
        answer(call('get_weather', { city: 'Oslo' }), call('get_weather', { city: 'Paris', unit: 'celsius' })),
      ),
    ).toEqual({ passed: true });
    expect(checkAnswer(check, answer(call('get_weather', { city: 'paris' })))).toEqual({
      passed: false,
      reason: 'get_weather called with arguments that differ at city: expected "Paris", got "paris"',
    });
    expect(checkAnswer(check, answer(call('read_file', {})))).toEqual({
      passed: false,
      reason: 'no call to get_weather (calls: read_file)',
    });
  });
});

describe('firstDifference and answerJson', () => {
  it('compares arrays element by element and of the same length', () => {
    expect(firstDifference({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBeUndefined();
    expect(firstDifference({ a: [1, { b: 3 }] }, { a: [1, { b: 2 }] })).toBe('a[1].b: expected 2, got 3');
    expect(firstDifference({ a: [1] }, { a: [1, 2] })).toBe('a: expected [1,2], got [1]');
    expect(firstDifference('x', { a: 1 })).toBe('(top): expected an object, got "x"');
  });

  it('reads the whole answer first, then a fence, then the outermost braces', () => {
    expect(answerJson(' {"a":1} ')).toEqual({ ok: true, value: { a: 1 } });
    expect(answerJson('text ```\n[1]\n``` text')).toEqual({ ok: true, value: [1] });
    expect(answerJson('So: {"a": {"b": 2}} end')).toEqual({ ok: true, value: { a: { b: 2 } } });
    expect(answerJson('{broken')).toEqual({ ok: false });
  });
});
