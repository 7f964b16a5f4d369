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

const block = (search: string, replace: string, open = '<<<<<<< SEARCH', mid = '=======', close = '>>>>>>> REPLACE') =>
  `${open}\n${search}\n${mid}\n${replace}\n${close}`;

function failureOf(run: () => unknown): { code?: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('no error');
}

describe('parseSearchReplace: the markers', () => {
  it('accepts five to nine marker characters, with or without the space, and text after the markers', () => {
    expect(parseSearchReplace(block('a', 'b', '<<<<< SEARCH', '=====', '>>>>> REPLACE'))).toEqual([
      { search: 'a', replace: 'b' },
    ]);
    expect(
      parseSearchReplace(block('a', 'b', '<<<<<<<<<SEARCH file.ts', '=========  ', '>>>>>>>>>REPLACE end')),
    ).toEqual([{ search: 'a', replace: 'b' }]);
  });

  it('ignores markers that are too short, too long, or not at the start of a line', () => {
    expect(parseSearchReplace(block('a', 'b', '<<<< SEARCH', '====', '>>>> REPLACE'))).toEqual([]);
    expect(parseSearchReplace(block('a', 'b', '<<<<<<<<<< SEARCH'))).toEqual([]);
    expect(parseSearchReplace(block('a', 'b', 'x <<<<<<< SEARCH'))).toEqual([]);
    expect(parseSearchReplace(block('a', 'b', undefined, undefined, 'x >>>>>>> REPLACE'))).toEqual([]);
  });

  it('keeps the lines of each section, dropping only the newline before the next marker', () => {
    expect(parseSearchReplace(block('one\n\ntwo\n', '  x\n'))).toEqual([{ search: 'one\n\ntwo\n', replace: '  x\n' }]);
  });

  it('finds every block in a reply, in order', () => {
    const reply = `Intro\n${block('a', 'b')}\nthen\n${block('c', 'd')}\n`;
    expect(parseSearchReplace(reply)).toEqual([
      { search: 'a', replace: 'b' },
      { search: 'c', replace: 'd' },
    ]);
  });
});

describe('applySearchReplace: where the text goes', () => {
  it('replaces only the first occurrence', () => {
    expect(applySearchReplace('x = 1;\nx = 1;\n', block('x = 1;', 'x = 2;'))).toBe('x = 2;\nx = 1;\n');
  });

  it('takes an exact match anywhere, even inside a line, before a match of whole lines', () => {
    expect(applySearchReplace('xa = 1;\na = 1;\n', block('a = 1;', 'a = 2;'))).toBe('xa = 2;\na = 1;\n');
    expect(applySearchReplace('ab\na', block('a', 'X'))).toBe('Xb\na');
  });

  it('applies each block to the result of the ones before it', () => {
    const reply = `${block('a', 'b')}\n${block('b', 'c')}`;
    expect(applySearchReplace('a\n', reply)).toBe('c\n');
  });

  it('matches loosely at the end of a source without a final newline, keeping what follows a match', () => {
    expect(applySearchReplace('zero\nfirst\nlast  ', block('first \nlast', 'end'))).toBe('zero\nend');
    expect(applySearchReplace('a  \nb  \nc\n', block('a\nb', 'z'))).toBe('z\nc\n');
    expect(applySearchReplace('k\na  \nb\n', block('a\nb', 'z'))).toBe('k\nz\n');
  });

  it('matches loosely only whole lines in sequence', () => {
    const error = failureOf(() => applySearchReplace('a  \nx\nb\n', block('a\nb', 'z')));
    expect(error.code).toBe('DIFF_NOT_APPLIED');
  });

  it('does not match a SEARCH text longer than the source', () => {
    expect(failureOf(() => applySearchReplace('a', block('a\nb\nc', 'z'))).code).toBe('DIFF_NOT_APPLIED');
  });
});

describe('applySearchReplace: its errors', () => {
  it('says which block has an empty SEARCH section', () => {
    const reply = `${block('a', 'b')}\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE`;
    expect(failureOf(() => applySearchReplace('a\n', reply))).toMatchObject({
      code: 'DIFF_NOT_APPLIED',
      message: 'SEARCH/REPLACE block 2 of 2 has an empty SEARCH section',
    });
  });

  it('quotes the first line of a missing SEARCH text, cut to 80 characters', () => {
    const long = 'y'.repeat(100);
    expect(failureOf(() => applySearchReplace('a\n', block(`${long}\nsecond`, 'z'))).message).toBe(
      `SEARCH/REPLACE block 1 of 1 does not apply: its SEARCH text (starting "${'y'.repeat(80)}") is not in the parent`,
    );
  });

  it('names the fix for a reply without blocks', () => {
    expect(failureOf(() => applySearchReplace('a', 'no blocks'))).toMatchObject({
      code: 'DIFF_NOT_APPLIED',
      message: 'the reply holds no SEARCH/REPLACE block',
      fix: 'the coder must answer with <<<<<<< SEARCH / ======= / >>>>>>> REPLACE blocks',
    });
  });
});
