import { describe, expect, it } from 'vitest';
import { LineSplitter } from './ndjson';

describe('LineSplitter', () => {
  it('returns the lines each piece completes and keeps the rest', () => {
    const lines = new LineSplitter();
    expect(lines.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(lines.push(':2')).toEqual([]);
    expect(lines.push('}\n\n{"c":3}\n')).toEqual(['{"b":2}', '', '{"c":3}']);
    expect(lines.end()).toBe('');
  });

  it('decodes UTF-8 characters cut between pieces', () => {
    const bytes = new TextEncoder().encode('"héllo ✓"\n"x"');
    const lines = new LineSplitter();
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...lines.push(bytes.subarray(i, i + 1)));
    expect(out).toEqual(['"héllo ✓"']);
    expect(lines.end()).toBe('"x"');
  });
});
