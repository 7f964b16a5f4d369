import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from './nearest-name';

describe('nearestName', () => {
  it('finds the closest known name, ignoring case', () => {
    expect(nearestName('read_fil', ['write_file', 'read_file', 'list_files'])).toBe('read_file');
    expect(nearestName('CLOUD_LM', ['models', 'cloud_llm'])).toBe('cloud_llm');
  });

  it('returns nothing past maxDistance, or when there is nothing to choose from', () => {
    expect(nearestName('domains', ['models', 'cloud_llm'], 2)).toBeUndefined();
    expect(nearestName('x', [])).toBeUndefined();
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});
