import { describe, expect, it } from 'vitest';
import { EvolutionError } from './errors';
import { applySearchReplace, parseSearchReplace } from './search-replace';

const source = 'function f(x) {\n  return x + 1;  \n}\n\nconst y = f(2);\n';

describe('applySearchReplace', () => {
  it('applies several blocks in order', () => {
    const reply =
      'Changes:\n<<<<<<< SEARCH\n  return x + 1;  \n=======\n  return x * 2;\n>>>>>>> REPLACE\n' +
      '<<<<<<< SEARCH\nconst y = f(2);\n=======\nconst y = f(3);\n>>>>>>> REPLACE\n';
    expect(applySearchReplace(source, reply)).toBe('function f(x) {\n  return x * 2;\n}\n\nconst y = f(3);\n');
  });

  it('matches lines whose trailing spaces differ', () => {
    const reply = '<<<<<<< SEARCH\n  return x + 1;\n}\n=======\n  return 0;\n}\n>>>>>>> REPLACE';
    expect(applySearchReplace(source, reply)).toBe('function f(x) {\n  return 0;\n}\n\nconst y = f(2);\n');
  });

  it('throws DIFF_NOT_APPLIED naming the block whose SEARCH text is missing', () => {
    const reply =
      '<<<<<<< SEARCH\nconst y = f(2);\n=======\nconst y = 0;\n>>>>>>> REPLACE\n' +
      '<<<<<<< SEARCH\nreturn x - 1;\n=======\nreturn 1;\n>>>>>>> REPLACE';
    let error: unknown;
    try {
      applySearchReplace(source, reply);
    } catch (e) {
      error = e;
    }
    expect(EvolutionError.isInstance(error) && error.code).toBe('DIFF_NOT_APPLIED');
    expect((error as Error).message).toContain('block 2 of 2 does not apply');
  });

  it('throws DIFF_NOT_APPLIED for a reply without blocks or with an empty SEARCH', () => {
    expect(() => applySearchReplace(source, 'I rewrote it: ```js\nx\n```')).toThrow('no SEARCH/REPLACE block');
    expect(() => applySearchReplace(source, '<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE')).toThrow('empty SEARCH');
  });

  it('parses CRLF replies and an empty REPLACE (a deletion)', () => {
    expect(parseSearchReplace('<<<<<<< SEARCH\r\na\r\n=======\r\n>>>>>>> REPLACE\r\n')).toEqual([
      { search: 'a', replace: '' },
    ]);
  });
});
