import { link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinTools } from './builtin-tools';
import { ToolError } from './errors';
import { procFdAvailable } from './fs/descriptors';
import { Sandbox } from './sandbox';
import { createToolExecutor, type ToolExecutor } from './tool-executor';

const SECRET = 'TOP-SECRET-CONTENT-42';

let base: string;
let root: string;
let outside: string;
let executor: ToolExecutor;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'unity-sandbox-'));
  root = path.join(base, 'app');
  outside = path.join(base, 'app-evil'); // shares the root's prefix
  await mkdir(root);
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), SECRET);
  await writeFile(path.join(root, 'inside.txt'), 'inside\n');
  executor = createToolExecutor({ root });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function call(name: string, args: Record<string, unknown>) {
  const [result] = await executor.execute([{ id: 'c1', name, arguments: args, rawArguments: JSON.stringify(args) }]);
  if (!result) throw new Error('no result');
  return result;
}

async function snapshot(file: string) {
  const s = await stat(file);
  return { content: await readFile(file, 'utf8'), mtimeMs: s.mtimeMs, ino: s.ino };
}

function expectRefused(result: { ok: boolean; content: string; error?: { code: string } }, code = 'PATH_OUTSIDE_ROOT') {
  expect(result.ok).toBe(false);
  expect(result.error?.code).toBe(code);
  expect(result.content).not.toContain(SECRET);
}

/** The static escapes hold in both modes: descriptors verified through /proc/self/fd, and the realpath fallback. */
const modes = [
  { mode: 'descriptors verified through /proc/self/fd', verifyDescriptors: true },
  { mode: 'the realpath fallback', verifyDescriptors: false },
].filter((m) => !m.verifyDescriptors || procFdAvailable());

describe.each(modes)('with $mode', ({ verifyDescriptors }) => {
  beforeEach(() => {
    executor = createToolExecutor({ root, tools: builtinTools(new Sandbox(root, { verifyDescriptors })) });
  });

  describe('sandbox: reading', () => {
    it('refuses a .. traversal and names the allowed root', async () => {
      const result = await call('read_file', { path: '../app-evil/secret.txt' });
      expectRefused(result);
      expect(result.content).toContain(`Allowed root: ${executor.sandbox.root}`);
    });

    it('refuses an absolute path outside the root', async () => {
      expectRefused(await call('read_file', { path: path.join(outside, 'secret.txt') }));
      expectRefused(await call('read_file', { path: '/etc/passwd' }));
    });

    it('refuses a sibling folder that shares the root prefix', async () => {
      expectRefused(await call('list_files', { path: `${root}-evil` }));
    });

    it('refuses a NUL byte in a path', async () => {
      const result = await call('read_file', { path: 'inside.txt\u0000../../etc/passwd' });
      expectRefused(result);
      expect(result.content).toContain('NUL byte');
    });

    it('refuses a symlinked file pointing outside', async () => {
      await symlink(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'));
      expectRefused(await call('read_file', { path: 'link.txt' }));
    });

    it('refuses a symlinked folder pointing outside, for reading, listing and searching', async () => {
      await symlink(outside, path.join(root, 'linked-dir'));
      expectRefused(await call('read_file', { path: 'linked-dir/secret.txt' }));
      expectRefused(await call('list_files', { path: 'linked-dir' }));
      expectRefused(await call('search_files', { pattern: 'SECRET', path: 'linked-dir' }));
    });

    it('never follows a symlink while walking the tree', async () => {
      await symlink(outside, path.join(root, 'linked-dir'));
      const result = await call('search_files', { pattern: 'TOP-SECRET' });
      expect(result.ok).toBe(true);
      expect(result.content).toMatch(/^no matches/);
      expect(result.content).not.toContain(SECRET);
    });

    it('follows a symlink that stays inside the root', async () => {
      await symlink(path.join(root, 'inside.txt'), path.join(root, 'alias.txt'));
      const result = await call('read_file', { path: 'alias.txt' });
      expect(result.ok).toBe(true);
      expect(result.content).toContain('inside');
    });

    it('accepts an absolute path inside the root', async () => {
      const result = await call('read_file', { path: path.join(root, 'inside.txt') });
      expect(result.ok).toBe(true);
    });
  });

  describe('sandbox: writing', () => {
    it('refuses to write through .. and leaves the outside file untouched', async () => {
      const before = await snapshot(path.join(outside, 'secret.txt'));
      expectRefused(await call('write_file', { path: '../app-evil/secret.txt', content: 'pwned' }));
      expect(await snapshot(path.join(outside, 'secret.txt'))).toEqual(before);
    });

    it('refuses to write a new file through a symlinked folder, creating nothing outside', async () => {
      await symlink(outside, path.join(root, 'linked-dir'));
      expectRefused(await call('write_file', { path: 'linked-dir/new/evil.txt', content: 'pwned' }));
      await expect(stat(path.join(outside, 'new'))).rejects.toThrow(/ENOENT/);
    });

    it('refuses to write through a symlinked file, even one pointing inside', async () => {
      const before = await snapshot(path.join(outside, 'secret.txt'));
      await symlink(path.join(outside, 'secret.txt'), path.join(root, 'out-link.txt'));
      expectRefused(await call('write_file', { path: 'out-link.txt', content: 'pwned' }), 'DENIED');
      expect(await snapshot(path.join(outside, 'secret.txt'))).toEqual(before);

      await symlink(path.join(root, 'inside.txt'), path.join(root, 'in-link.txt'));
      expectRefused(await call('write_file', { path: 'in-link.txt', content: 'changed' }), 'DENIED');
      expect(await readFile(path.join(root, 'inside.txt'), 'utf8')).toBe('inside\n');
    });

    it('refuses a dangling symlink that would create a file outside', async () => {
      await symlink(path.join(outside, 'created-by-link.txt'), path.join(root, 'dangling.txt'));
      expectRefused(await call('write_file', { path: 'dangling.txt', content: 'pwned' }), 'DENIED');
      await expect(stat(path.join(outside, 'created-by-link.txt'))).rejects.toThrow(/ENOENT/);
    });

    it('refuses to write a hard-linked file', async () => {
      const before = await snapshot(path.join(outside, 'secret.txt'));
      await link(path.join(outside, 'secret.txt'), path.join(root, 'hard.txt'));
      expectRefused(await call('write_file', { path: 'hard.txt', content: 'pwned' }), 'DENIED');
      const after = await snapshot(path.join(outside, 'secret.txt'));
      expect(after.content).toBe(before.content);
      expect(after.mtimeMs).toBe(before.mtimeMs);
    });

    it('refuses an absolute path outside and a NUL byte', async () => {
      expectRefused(await call('write_file', { path: path.join(outside, 'x.txt'), content: 'x' }));
      expectRefused(await call('write_file', { path: 'a\u0000b', content: 'x' }));
      await expect(stat(path.join(outside, 'x.txt'))).rejects.toThrow(/ENOENT/);
    });

    it('refuses the memory log when it is a symlink to a file outside', async () => {
      const before = await snapshot(path.join(outside, 'secret.txt'));
      await mkdir(path.join(root, '.unity'));
      await symlink(path.join(outside, 'secret.txt'), path.join(root, '.unity', 'memory.jsonl'));
      const result = await call('add_entities', { entities: [{ name: 'x', type: 't' }] });
      expect(result.ok).toBe(false);
      expect(await snapshot(path.join(outside, 'secret.txt'))).toEqual(before);
    });
  });

  describe("the tools' own state", () => {
    it('refuses write_file under .unity, naming the path, and leaves the memory log as the memory tools wrote it', async () => {
      expect((await call('add_entities', { entities: [{ name: 'x', type: 't' }] })).ok).toBe(true);
      const log = path.join(root, '.unity', 'memory.jsonl');
      const before = await snapshot(log);
      for (const target of [
        '.unity/memory.jsonl',
        './.unity/../.unity/memory.jsonl',
        '.unity/audit/new.jsonl',
        '.unity',
      ]) {
        const result = await call('write_file', { path: target, content: '{"kind":"entity","name":"forged"}\n' });
        expectRefused(result, 'DENIED');
        expect(result.content).toContain(JSON.stringify(target));
        expect(result.content).toContain('.unity');
      }
      expect(await snapshot(log)).toEqual(before);
      await expect(stat(path.join(root, '.unity', 'audit'))).rejects.toThrow(/ENOENT/);
    });

    it('refuses write_file into .unity through a symlinked folder inside the root', async () => {
      expect((await call('add_entities', { entities: [{ name: 'x', type: 't' }] })).ok).toBe(true);
      await symlink(path.join(root, '.unity'), path.join(root, 'state'));
      const before = await snapshot(path.join(root, '.unity', 'memory.jsonl'));
      expectRefused(await call('write_file', { path: 'state/memory.jsonl', content: 'forged\n' }), 'DENIED');
      expectRefused(await call('write_file', { path: 'state/sub/x.txt', content: 'x' }), 'DENIED');
      expect(await snapshot(path.join(root, '.unity', 'memory.jsonl'))).toEqual(before);
      await expect(stat(path.join(root, '.unity', 'sub'))).rejects.toThrow(/ENOENT/);
    });

    it('still lets the memory tools write their log', async () => {
      expect((await call('add_entities', { entities: [{ name: 'Alice', type: 'person' }] })).ok).toBe(true);
      const result = await call('memory_query', { query: 'alice' });
      expect(result.content).toContain('Alice (person)');
    });

    it('lets write_file write a folder that merely starts with .unity', async () => {
      expect((await call('write_file', { path: '.unity-notes/a.txt', content: 'ok' })).ok).toBe(true);
      expect(await readFile(path.join(root, '.unity-notes', 'a.txt'), 'utf8')).toBe('ok');
    });
  });
});

describe('Sandbox', () => {
  it('protects .unity by default, and everything below it, whatever the spelling', () => {
    const sandbox = new Sandbox(root);
    expect(sandbox.protectedPaths).toEqual(['.unity']);
    for (const rel of ['.unity', '.unity/memory.jsonl', './.unity/audit/x', '.unity/', 'a/../.unity/x', '.UNITY/x']) {
      expect(sandbox.isProtected(rel), rel).toBe(true);
    }
    for (const rel of ['.', 'src/.unity', '.unity-notes/x', 'unity', '.unityx']) {
      expect(sandbox.isProtected(rel), rel).toBe(false);
    }
  });

  it('takes its own list of protected paths', async () => {
    const sandbox = new Sandbox(root, { protectedPaths: ['.audit/', 'state/db'] });
    expect(sandbox.protectedPaths).toEqual(['.audit', 'state/db']);
    expect(sandbox.isProtected('state/db/x')).toBe(true);
    expect(sandbox.isProtected('.unity/x')).toBe(false);
    await expect(sandbox.writeFile('state/db/x.txt', 'x', 'write_file')).rejects.toMatchObject({ code: 'DENIED' });
    await expect(stat(path.join(root, 'state', 'db'))).rejects.toThrow(/ENOENT/);
  });

  it('throws INVALID_CONFIG for a root that does not exist', () => {
    let error: unknown;
    try {
      createToolExecutor({ root: path.join(base, 'missing') });
    } catch (e) {
      error = e;
    }
    expect(ToolError.isInstance(error) && error.code).toBe('INVALID_CONFIG');
  });
});
