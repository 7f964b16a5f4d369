import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox';
import { listFilesTool } from './list-files';
import { readFileTool } from './read-file';
import { searchFilesTool } from './search-files';
import { writeFileTool } from './write-file';

let root: string;
let sandbox: Sandbox;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'unity-fs-'));
  sandbox = new Sandbox(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(rel: string, content: string | Buffer) {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n');

describe('read_file', () => {
  const tool = () => readFileTool(sandbox);

  it('returns the text with line numbers', async () => {
    await put('a.txt', 'alpha\nbeta\n');
    expect(await tool().execute({ path: 'a.txt' }, {})).toBe('     1\talpha\n     2\tbeta');
  });

  it('returns the range asked for by offset and limit, with a note on where to continue', async () => {
    await put('a.txt', lines(10));
    const text = await tool().execute({ path: 'a.txt', offset: 3, limit: 2 }, {});
    expect(text).toContain('     3\tline 3\n     4\tline 4');
    expect(text).not.toContain('line 5');
    expect(text).toContain('offset=5');
  });

  it('pages a huge file instead of returning it whole', async () => {
    await put('big.txt', lines(50_000));
    const text = await readFileTool(sandbox, { defaultLimit: 100 }).execute({ path: 'big.txt' }, {});
    expect(text.split('\n')).toHaveLength(101);
    expect(text).toMatch(/more lines follow: call read_file with offset=101/);
  });

  it('cuts a page at the character budget', async () => {
    await put('wide.txt', Array.from({ length: 100 }, () => 'x'.repeat(500)).join('\n'));
    const text = await readFileTool(sandbox, { maxChars: 2000, maxLineChars: 1000 }).execute({ path: 'wide.txt' }, {});
    expect(text.length).toBeLessThan(2600);
    expect(text).toMatch(/cut at 2000 characters/);
  });

  it('refuses a binary file without showing its bytes', async () => {
    await put('img.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02, 0x41, 0x42, 0x43]));
    await expect(tool().execute({ path: 'img.bin' }, {})).rejects.toMatchObject({ code: 'BINARY_FILE' });
  });

  it('says a missing file does not exist, and a folder is not a file', async () => {
    await expect(tool().execute({ path: 'nope.txt' }, {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await mkdir(path.join(root, 'dir'));
    await expect(tool().execute({ path: 'dir' }, {})).rejects.toThrow(/is a folder/);
  });

  it('refuses a named pipe instead of blocking on it', async () => {
    execFileSync('mkfifo', [path.join(root, 'pipe')]);
    await expect(tool().execute({ path: 'pipe' }, {})).rejects.toThrow(/not a regular file/);
  });

  it('says when the offset is past the end', async () => {
    await put('a.txt', lines(3));
    expect(await tool().execute({ path: 'a.txt', offset: 10 }, {})).toMatch(/has 3 lines; offset 10 is past the end/);
  });
});

describe('write_file', () => {
  const tool = () => writeFileTool(sandbox);

  it('creates missing parent folders and reports what it did', async () => {
    expect(await tool().execute({ path: 'deep/er/new.txt', content: 'hello' }, {})).toBe(
      'created deep/er/new.txt (5 bytes)',
    );
    expect(await readFile(path.join(root, 'deep/er/new.txt'), 'utf8')).toBe('hello');
  });

  it('replaces a file atomically, keeping its mode and leaving no temporary file', async () => {
    await put('run.sh', 'old');
    await chmod(path.join(root, 'run.sh'), 0o755);
    expect(await tool().execute({ path: 'run.sh', content: 'new' }, {})).toMatch(/^replaced run.sh/);
    expect(await readFile(path.join(root, 'run.sh'), 'utf8')).toBe('new');
    expect((await stat(path.join(root, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect(await readdir(root)).toEqual(['run.sh']);
  });

  it('refuses files under .git, which could make git run programs', async () => {
    await expect(tool().execute({ path: '.git/hooks/pre-commit', content: '#!/bin/sh' }, {})).rejects.toMatchObject({
      code: 'DENIED',
    });
    await expect(stat(path.join(root, '.git'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses content over the size limit', async () => {
    await expect(
      writeFileTool(sandbox, { maxBytes: 10 }).execute({ path: 'a', content: 'x'.repeat(11) }, {}),
    ).rejects.toMatchObject({
      code: 'DENIED',
    });
  });

  it('refuses to replace a folder', async () => {
    await mkdir(path.join(root, 'dir'));
    await expect(tool().execute({ path: 'dir', content: 'x' }, {})).rejects.toThrow(/is a folder/);
  });
});

describe('list_files', () => {
  const tool = () => listFilesTool(sandbox);

  it('lists a folder with types and sizes, not descending', async () => {
    await put('a.txt', '12345');
    await put('src/b.ts', 'x');
    const text = await tool().execute({ path: '.', recursive: false, max: 100 }, {});
    expect(text.split('\n')).toEqual(['file             5  a.txt', 'dir              -  src/']);
  });

  it('lists recursively, honouring .gitignore and skipping .git and node_modules', async () => {
    await put('.gitignore', 'dist/\n*.log\n!keep.log\n');
    await put('src/index.ts', 'x');
    await put('src/.gitignore', 'generated.ts\n');
    await put('src/generated.ts', 'x');
    await put('dist/out.js', 'x');
    await put('debug.log', 'x');
    await put('keep.log', 'x');
    await put('node_modules/pkg/index.js', 'x');
    await put('.git/HEAD', 'ref');
    const text = await tool().execute({ path: '.', recursive: true, max: 100 }, {});
    const names = text.split('\n').map((l) => l.trim().split(/\s+/).pop());
    expect(names).toEqual(['.gitignore', 'keep.log', 'src/', 'src/.gitignore', 'src/index.ts']);
  });

  it('applies the .gitignore of the root when listing a sub-folder', async () => {
    await put('.gitignore', 'secret-*\n');
    await put('sub/secret-a.txt', 'x');
    await put('sub/plain.txt', 'x');
    const text = await tool().execute({ path: 'sub', recursive: true, max: 100 }, {});
    expect(text).toContain('sub/plain.txt');
    expect(text).not.toContain('secret-a');
  });

  it('stops at max with a note', async () => {
    for (let i = 0; i < 20; i++) await put(`f${i}.txt`, 'x');
    const text = await tool().execute({ path: '.', recursive: true, max: 5 }, {});
    expect(text.split('\n')).toHaveLength(6);
    expect(text).toMatch(/stopped at 5 entries/);
  });
});

describe('search_files', () => {
  const tool = () => searchFilesTool(sandbox);
  const search = (args: Partial<{ pattern: string; path: string; glob: string; regex: boolean; max: number }>) =>
    tool().execute({ pattern: 'needle', path: '.', regex: false, max: 200, ...args }, {});

  it('finds literal text as path:line:text, sorted', async () => {
    await put('b.txt', 'nothing\nhas needle here\n');
    await put('a/c.ts', 'needle first\nsecond\nneedle (third)\n');
    expect(await search({})).toBe('a/c.ts:1:needle first\na/c.ts:3:needle (third)\nb.txt:2:has needle here');
  });

  it('treats the pattern literally unless regex is set', async () => {
    await put('a.txt', 'a.c\nabc\n');
    expect(await search({ pattern: 'a.c' })).toBe('a.txt:1:a.c');
    expect(await search({ pattern: '^a.c$', regex: true })).toBe('a.txt:1:a.c\na.txt:2:abc');
  });

  it('matches regular expressions line by line, anchors and negative lookarounds included', async () => {
    await put('a.txt', 'foobar\r\nfoo\r\nbar foo\n');
    expect(await search({ pattern: 'foo(?!bar)', regex: true })).toBe('a.txt:2:foo\na.txt:3:bar foo');
    expect(await search({ pattern: 'foo$', regex: true })).toBe('a.txt:2:foo\na.txt:3:bar foo');
    expect(await search({ pattern: '^bar', regex: true })).toBe('a.txt:3:bar foo');
  });

  it('explains an invalid regular expression', async () => {
    await expect(search({ pattern: '(unclosed', regex: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENTS',
      message: expect.stringMatching(/not a valid regular expression/),
    });
  });

  it('filters files by glob, by base name or by path', async () => {
    await put('src/a.ts', 'needle');
    await put('src/a.js', 'needle');
    await put('test/b.ts', 'needle');
    expect(await search({ glob: '*.ts' })).toBe('src/a.ts:1:needle\ntest/b.ts:1:needle');
    expect(await search({ glob: 'src/**' })).toBe('src/a.js:1:needle\nsrc/a.ts:1:needle');
  });

  it('skips binary files, ignored files, .git and node_modules', async () => {
    await put('bin.dat', Buffer.concat([Buffer.from('needle'), Buffer.from([0, 1, 2])]));
    await put('.gitignore', 'build/\n');
    await put('build/out.txt', 'needle');
    await put('node_modules/x/i.js', 'needle');
    await put('.git/config', 'needle');
    await put('ok.txt', 'needle');
    expect(await search({})).toBe('ok.txt:1:needle');
  });

  it('searches a large file streamed line by line', async () => {
    await put('big.txt', `${'filler line\n'.repeat(20_000)}the needle\n${'more\n'.repeat(100)}`);
    expect(await search({})).toBe('big.txt:20001:the needle');
  });

  it('stops at max matches with a note', async () => {
    await put('a.txt', 'needle\n'.repeat(50));
    const text = await search({ max: 10 });
    expect(text.split('\n')).toHaveLength(11);
    expect(text).toMatch(/stopped at 10 matches/);
  });

  it('searches a single file when the path names one', async () => {
    await put('a.txt', 'x\nneedle');
    await put('b.txt', 'needle');
    expect(await search({ path: 'a.txt' })).toBe('a.txt:2:needle');
  });

  it('says when nothing matched', async () => {
    await put('a.txt', 'hay');
    expect(await search({})).toMatch(/^no matches for "needle" in \. \(1 files searched\)/);
  });
});
