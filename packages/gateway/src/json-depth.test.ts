import { describe, expect, it } from 'vitest';
import { jsonNestsDeeperThan } from './json-depth';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('jsonNestsDeeperThan', () => {
  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(jsonNestsDeeperThan(nested(64), 64)).toBe(false);
    expect(jsonNestsDeeperThan(nested(65), 64)).toBe(true);
  });

  it('counts objects and arrays alike, and siblings do not add up', () => {
    expect(jsonNestsDeeperThan('{"a":[{"b":1}],"c":[{"d":[2]}]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[{"b":1}],"c":[{"d":[2]}]}', 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(JSON.stringify({ text: '[[[[{{{{\\"[[[[' }), 1)).toBe(false);
  });
});
