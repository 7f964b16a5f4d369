import { describe, expect, it } from 'vitest';
import {
  callFingerprint,
  callPaths,
  canonicalArguments,
  canonicalPath,
  normaliseWhitespace,
  resultFingerprint,
} from './call-fingerprint';

const root = '/srv/work';

describe('callFingerprint', () => {
  it('is the same for paths that name the same file under the root', () => {
    const a = callFingerprint({ name: 'read_file', arguments: { path: 'src/a.ts' } }, root);
    expect(callFingerprint({ name: 'read_file', arguments: { path: './src/../src/a.ts' } }, root)).toBe(a);
    expect(callFingerprint({ name: 'read_file', arguments: { path: '/srv/work/src/a.ts' } }, root)).toBe(a);
    expect(callFingerprint({ name: 'read_file', arguments: { path: ' src/a.ts ' } }, root)).toBe(a);
  });

  it('ignores the order of argument keys, at every depth', () => {
    const a = callFingerprint({ name: 'search_files', arguments: { pattern: 'x', opts: { b: 1, a: 2 }, path: '.' } });
    const b = callFingerprint({ name: 'search_files', arguments: { path: '.', opts: { a: 2, b: 1 }, pattern: 'x' } });
    expect(a).toBe(b);
  });

  it('normalises whitespace in string arguments', () => {
    const a = callFingerprint({ name: 'execute_command', arguments: { command: 'ls   -la\n' } });
    expect(a).toBe(callFingerprint({ name: 'execute_command', arguments: { command: ' ls -la' } }));
  });

  it('tells apart different tools, different files and different values', () => {
    const base = callFingerprint({ name: 'read_file', arguments: { path: 'a.txt' } }, root);
    expect(callFingerprint({ name: 'list_files', arguments: { path: 'a.txt' } }, root)).not.toBe(base);
    expect(callFingerprint({ name: 'read_file', arguments: { path: 'b.txt' } }, root)).not.toBe(base);
    expect(callFingerprint({ name: 'read_file', arguments: { path: 'a.txt', offset: 2 } }, root)).not.toBe(base);
  });

  it('keeps a path outside the root distinct from one inside', () => {
    expect(canonicalPath('../a.txt', root)).toBe('../a.txt');
    expect(canonicalPath('/etc/passwd', root)).toBe('../../etc/passwd');
    expect(canonicalPath('.', root)).toBe('.');
  });
});

describe('canonicalArguments', () => {
  it('resolves path-like keys only, and keeps other values as they are apart from whitespace', () => {
    expect(canonicalArguments({ query: ' a  b ', cwd: 'x/./y', max: 3, filePath: 'x/../z' }, root)).toEqual({
      cwd: 'x/y',
      filePath: 'z',
      max: 3,
      query: 'a b',
    });
  });
});

describe('callPaths', () => {
  it('lists the canonical paths a call names', () => {
    expect(callPaths({ name: 'read_file', arguments: { path: './a.txt', limit: 5 } }, root)).toEqual(['a.txt']);
    expect(callPaths({ name: 'web_search', arguments: { query: 'x' } }, root)).toEqual([]);
  });
});

describe('resultFingerprint', () => {
  it('differs when the content or the outcome differs', () => {
    expect(resultFingerprint(true, 'x')).toBe(resultFingerprint(true, 'x'));
    expect(resultFingerprint(true, 'x')).not.toBe(resultFingerprint(true, 'y'));
    expect(resultFingerprint(true, 'x')).not.toBe(resultFingerprint(false, 'x'));
  });
});

describe('call fingerprints, exactly', () => {
  it('is the name and the canonical arguments as JSON, keys sorted', () => {
    expect(callFingerprint({ name: 'grep', arguments: { b: 2, a: 1, c: { z: 1, y: [' q  r '] } } })).toBe(
      'grep {"a":1,"b":2,"c":{"y":["q r"],"z":1}}',
    );
  });

  it('drops undefined fields and keeps null, numbers and booleans as they are', () => {
    expect(canonicalArguments({ a: undefined, b: null, c: 0, d: false })).toStrictEqual({ b: null, c: 0, d: false });
  });

  it.each(['path', 'Path', 'cwd', 'file', 'dir', 'directory', 'root', 'folder', 'filePath', 'sourceFile', 'outDir'])(
    'resolves the path-like key %s against the root',
    (key) => {
      expect(canonicalArguments({ [key]: './x/../y.txt' }, '/w')).toEqual({ [key]: 'y.txt' });
    },
  );

  it.each(['name', 'paths', 'directoryName', 'rootless', 'command'])('treats %s as text, not a path', (key) => {
    expect(canonicalArguments({ [key]: ' ./x/../y ' }, '/w')).toEqual({ [key]: './x/../y' });
  });

  it('treats strings inside arrays as text even under a path-like key', () => {
    expect(canonicalArguments({ path: ['./a', ' b  c '] }, '/w')).toEqual({ path: ['./a', 'b c'] });
  });

  it('normalises a path without a root', () => {
    expect(canonicalPath('./src/../a.txt', undefined)).toBe('a.txt');
    expect(canonicalPath(' /a/b/../c ', undefined)).toBe('a/c');
    expect(canonicalPath('', undefined)).toBe('.');
    expect(canonicalPath('/', undefined)).toBe('.');
  });

  it('collapses every run of whitespace to one space and trims', () => {
    expect(normaliseWhitespace('  a\t\tb \n\n c  ')).toBe('a b c');
  });

  it('lists only string values of path-like keys', () => {
    expect(callPaths({ name: 'x', arguments: { path: 3, file: './f', dirs: 'd', query: 'q' } }, '/w')).toEqual(['f']);
  });

  it('digests the outcome and the content into 16 hex digits', () => {
    expect(resultFingerprint(true, 'x')).toBe('d4affb324c47e2a7');
    expect(resultFingerprint(false, 'x')).toBe('d654f1670c4b6d52');
  });
});
