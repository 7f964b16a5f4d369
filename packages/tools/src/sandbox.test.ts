import { execFileSync } from 'node:child_process';
import { fstatSync, readdirSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
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

/** The error a call throws (or rejects with), for asserting its code and message. */
async function errorOf(run: () => unknown): Promise<{ code?: string; message: string; fix?: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code?: string; message: string; fix?: string };
  }
  throw new Error('no error');
}

describe.each(modes)('Sandbox paths with $mode', ({ verifyDescriptors }) => {
  let sandbox: Sandbox;
  beforeEach(async () => {
    sandbox = new Sandbox(root, { verifyDescriptors });
    await mkdir(path.join(root, 'src'));
    await writeFile(path.join(root, 'src', 'a.txt'), 'A\n');
    await symlink(outside, path.join(root, 'out'));
    await symlink(path.join(root, 'nowhere'), path.join(root, 'dangling'));
    await symlink(path.join(outside, 'missing'), path.join(root, 'dangling-out'));
  });

  it('says whether it verifies descriptors', () => {
    expect(sandbox.verifiesDescriptors).toBe(verifyDescriptors);
  });

  describe('lexical', () => {
    it('takes the empty path and . for the root, and resolves .. inside', () => {
      expect(sandbox.lexical('', 't')).toBe(sandbox.root);
      expect(sandbox.lexical('.', 't')).toBe(sandbox.root);
      expect(sandbox.lexical('src/../b', 't')).toBe(path.join(sandbox.root, 'b'));
      expect(sandbox.lexical('..name', 't')).toBe(path.join(sandbox.root, '..name'));
    });

    it('refuses a climb out, an absolute path outside, a sibling sharing the prefix and a NUL, naming tool, input and root', async () => {
      expect(await errorOf(() => sandbox.lexical('../app-evil/secret.txt', 'read_file'))).toMatchObject({
        code: 'PATH_OUTSIDE_ROOT',
        message: `read_file: refused path "../app-evil/secret.txt": it climbs out of the workspace with "..". Allowed root: ${sandbox.root}`,
        fix: 'use a path inside the allowed root, preferably relative to it (e.g. "src/index.ts")',
      });
      expect((await errorOf(() => sandbox.lexical('..', 't'))).message).toContain('climbs out');
      expect((await errorOf(() => sandbox.lexical(outside, 't'))).message).toBe(
        `t: refused path ${JSON.stringify(outside)}: it is an absolute path outside the workspace. Allowed root: ${sandbox.root}`,
      );
      expect((await errorOf(() => sandbox.lexical('/', 't'))).code).toBe('PATH_OUTSIDE_ROOT');
      expect((await errorOf(() => sandbox.lexical('a\0b', 't'))).message).toBe(
        `t: refused path "a\\u0000b": it contains a NUL byte. Allowed root: ${sandbox.root}`,
      );
    });

    it('cuts a long refused input in its message', async () => {
      const long = `../${'x'.repeat(300)}`;
      const { message } = await errorOf(() => sandbox.lexical(long, 't'));
      expect(message).toContain(`refused path "../${'x'.repeat(196)}…": it climbs out`);
      const fits = `../${'y'.repeat(195)}`;
      expect((await errorOf(() => sandbox.lexical(fits, 't'))).message).toContain(`refused path "${fits}": it climbs`);
    });

    it('accepts an absolute path spelled through the root as given, when that is a link', async () => {
      const links = path.join(base, 'links', 'deeper');
      await mkdir(links, { recursive: true });
      await symlink(root, path.join(links, 'link-to-app'));
      const linked = new Sandbox(path.join(links, 'link-to-app'), { verifyDescriptors });
      expect(linked.root).toBe(sandbox.root);
      expect(linked.lexical(path.join(links, 'link-to-app', 'src', 'a.txt'), 't')).toBe(
        path.join(sandbox.root, 'src', 'a.txt'),
      );
      expect(linked.lexical(path.join(sandbox.root, 'src'), 't')).toBe(path.join(sandbox.root, 'src'));
      expect(linked.lexical(sandbox.root, 't')).toBe(sandbox.root);
      expect((await errorOf(() => linked.lexical(path.join(links, 'link-to-app', '..', 'x'), 't'))).code).toBe(
        'PATH_OUTSIDE_ROOT',
      );
    });
  });

  describe('contains and relative', () => {
    it('names paths relative to the root, the root as .', () => {
      expect(sandbox.relative(sandbox.root)).toBe('.');
      expect(sandbox.relative(path.join(sandbox.root, 'src', 'a.txt'))).toBe('src/a.txt');
      expect(sandbox.contains(sandbox.root)).toBe(true);
      expect(sandbox.contains(path.join(sandbox.root, '..x'))).toBe(true);
      expect(sandbox.contains(outside)).toBe(false);
      expect(sandbox.contains(path.dirname(sandbox.root))).toBe(false);
    });
  });

  describe('resolve', () => {
    it('resolves an existing path and a missing one below an existing folder', async () => {
      expect(await sandbox.resolve('src/a.txt', 't')).toEqual({
        real: path.join(sandbox.root, 'src', 'a.txt'),
        rel: 'src/a.txt',
        exists: true,
      });
      expect(await sandbox.resolve('src/new/deep.txt', 't')).toEqual({
        real: path.join(sandbox.root, 'src', 'new', 'deep.txt'),
        rel: 'src/new/deep.txt',
        exists: false,
      });
      expect(await sandbox.resolve('src/a.txt/below', 't')).toMatchObject({ rel: 'src/a.txt/below', exists: false });
    });

    it('takes a relative path from the given folder, an absolute one as it is', async () => {
      const src = path.join(sandbox.root, 'src');
      expect(await sandbox.resolve('a.txt', 't', src)).toMatchObject({ rel: 'src/a.txt', exists: true });
      expect(await sandbox.resolve(path.join(sandbox.root, 'inside.txt'), 't', src)).toMatchObject({
        rel: 'inside.txt',
      });
      expect((await errorOf(() => sandbox.resolve('../../x', 't', src))).code).toBe('PATH_OUTSIDE_ROOT');
    });

    it('refuses a path through a symlinked folder that leads outside', async () => {
      expect(await errorOf(() => sandbox.resolve('out/secret.txt', 'list_files'))).toMatchObject({
        code: 'PATH_OUTSIDE_ROOT',
        message: `list_files: refused path "out/secret.txt": it leads outside the workspace through a symbolic link. Allowed root: ${sandbox.root}`,
      });
      expect((await errorOf(() => sandbox.resolve('out/new.txt', 't'))).code).toBe('PATH_OUTSIDE_ROOT');
    });

    it('refuses a dangling symlink, and any path below one, whether its target would be inside or outside', async () => {
      for (const input of ['dangling', 'dangling/child.txt', 'dangling-out', 'dangling-out/x/y']) {
        expect(await errorOf(() => sandbox.resolve(input, 'write_file')), input).toMatchObject({
          code: 'PATH_OUTSIDE_ROOT',
          message: `write_file: refused path ${JSON.stringify(input)}: it is a symbolic link whose target does not exist or is outside. Allowed root: ${sandbox.root}`,
        });
      }
    });
  });

  it('passes on the error of a path that cannot be resolved (a symlink loop), refusing it as a whole', async () => {
    await symlink('loop', path.join(root, 'loop'));
    expect((await errorOf(() => sandbox.resolve('loop', 't'))).code).toBe('ELOOP');
    expect((await errorOf(() => sandbox.resolve('loop/x', 't'))).code).toBe('ELOOP');
    expect((await errorOf(() => sandbox.openExisting('loop', 't'))).code).toBe('ELOOP');
    expect((await errorOf(() => sandbox.openFolder('loop/x', 't', { create: true }))).code).toBe('ELOOP');
  });

  describe('resolveExisting', () => {
    it('gives the real path, the name and the stats of an existing path', async () => {
      const found = await sandbox.resolveExisting('./src//a.txt', 't');
      expect(found).toMatchObject({ real: path.join(sandbox.root, 'src', 'a.txt'), rel: 'src/a.txt' });
      expect(found.stats.isFile()).toBe(true);
      expect(found.stats.size).toBe(2);
    });

    it('says NOT_FOUND for a missing path, naming the tool and the root', async () => {
      expect(await errorOf(() => sandbox.resolveExisting('src/nope.txt', 'read_file'))).toMatchObject({
        code: 'NOT_FOUND',
        message: `read_file: "src/nope.txt" does not exist in the workspace (root: ${sandbox.root})`,
        fix: 'check the name with list_files',
      });
    });

    it('refuses a dangling symlink rather than calling it missing', async () => {
      expect((await errorOf(() => sandbox.resolveExisting('dangling', 't'))).code).toBe('PATH_OUTSIDE_ROOT');
    });
  });

  describe('openExisting', () => {
    it('opens a file with its stats and no folder, and closes its descriptor once', async () => {
      const opened = await sandbox.openExisting('src/a.txt', 't');
      expect(opened).toMatchObject({ real: path.join(sandbox.root, 'src', 'a.txt'), rel: 'src/a.txt' });
      expect(opened.stats.isFile()).toBe(true);
      expect(opened.folder).toBeUndefined();
      expect(fstatSync(opened.fd).isFile()).toBe(true);
      opened.close();
      expect(() => fstatSync(opened.fd)).toThrow(/EBADF/);
      opened.close();
    });

    it('names the children of a folder through its descriptor only when descriptors are verified', async () => {
      const opened = await sandbox.openExisting('src', 't');
      expect((opened.folder?.fd ?? -1) >= 0).toBe(verifyDescriptors);
      // The folder handle shares the descriptor: closing it leaves the descriptor to the opener.
      opened.folder?.close();
      expect(fstatSync(opened.fd).isDirectory()).toBe(true);
      opened.close();
      expect(() => fstatSync(opened.fd)).toThrow(/EBADF/);
    });

    it('opens a folder with a handle on its children', async () => {
      const opened = await sandbox.openExisting('src', 't');
      try {
        expect(opened.stats.isDirectory()).toBe(true);
        expect(opened.folder?.real).toBe(path.join(sandbox.root, 'src'));
        expect(await readFile(opened.folder!.path('a.txt'), 'utf8')).toBe('A\n');
      } finally {
        opened.close();
      }
    });

    it('follows a link that stays inside', async () => {
      await symlink(path.join(root, 'src', 'a.txt'), path.join(root, 'alias.txt'));
      const opened = await sandbox.openExisting('alias.txt', 't');
      expect(opened.rel).toBe('src/a.txt');
      opened.close();
    });

    it('refuses links outside and dangling links, and says NOT_FOUND for what is missing', async () => {
      expect((await errorOf(() => sandbox.openExisting('out/secret.txt', 't'))).message).toContain(
        'it leads outside the workspace through a symbolic link',
      );
      expect((await errorOf(() => sandbox.openExisting('dangling', 't'))).message).toContain(
        'it is a symbolic link whose target does not exist or is outside',
      );
      expect(await errorOf(() => sandbox.openExisting('src/none', 'list_files'))).toMatchObject({
        code: 'NOT_FOUND',
        message: `list_files: "src/none" does not exist in the workspace (root: ${sandbox.root})`,
      });
      expect((await errorOf(() => sandbox.openExisting('inside.txt/x', 't'))).code).toBe('NOT_FOUND');
    });

    it('refuses a socket as not a regular file', async () => {
      const server: Server = createServer();
      const socketPath = path.join(root, 'sock');
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      try {
        expect(await errorOf(() => sandbox.openExisting('sock', 'read_file'))).toMatchObject({
          code: 'DENIED',
          message: 'read_file: "sock" is not a regular file (a device, socket or pipe)',
          fix: 'read a regular file',
        });
      } finally {
        server.close();
      }
    });
  });

  describe('openForRead', () => {
    it('opens a regular file for reading', async () => {
      const opened = await sandbox.openForRead('src/a.txt', 't');
      try {
        expect(opened).toMatchObject({ real: path.join(sandbox.root, 'src', 'a.txt'), rel: 'src/a.txt' });
        expect(await opened.handle.readFile('utf8')).toBe('A\n');
      } finally {
        await opened.handle.close();
      }
    });

    it('refuses a folder, a pipe, links outside and dangling links; NOT_FOUND for a missing file', async () => {
      expect(await errorOf(() => sandbox.openForRead('src', 'read_file'))).toMatchObject({
        code: 'FAILED',
        message: 'read_file: "src" is a folder, not a file',
        fix: 'list it with list_files, or name a file inside it',
      });
      execFileSync('mkfifo', [path.join(root, 'pipe')]);
      expect(await errorOf(() => sandbox.openForRead('pipe', 'read_file'))).toMatchObject({ code: 'DENIED' });
      expect((await errorOf(() => sandbox.openForRead('out/secret.txt', 't'))).code).toBe('PATH_OUTSIDE_ROOT');
      expect((await errorOf(() => sandbox.openForRead('dangling', 't'))).code).toBe('PATH_OUTSIDE_ROOT');
      expect((await errorOf(() => sandbox.openForRead('missing.txt', 't'))).code).toBe('NOT_FOUND');
    });
  });

  describe('openRoot and openChild', () => {
    it('opens the root as its real path', () => {
      const folder = sandbox.openRoot();
      expect(folder.real).toBe(sandbox.root);
      expect(folder.fd >= 0).toBe(verifyDescriptors);
      folder.close();
    });

    it('refuses names that are not one folder name', async () => {
      const folder = sandbox.openRoot();
      try {
        for (const name of ['', '.', '..', 'src/x', 'a\0b']) {
          expect(await errorOf(() => sandbox.openChild(folder, name)), name).toMatchObject({
            code: 'EINVAL',
            message: `not a folder name: ${JSON.stringify(name)}`,
          });
        }
      } finally {
        folder.close();
      }
    });

    it('opens a child folder, refuses a file, and a link unless told to follow it, and then only inside', async () => {
      await mkdir(path.join(root, 'real-dir'));
      await symlink(path.join(root, 'real-dir'), path.join(root, 'link-dir'));
      const folder = sandbox.openRoot();
      try {
        const child = sandbox.openChild(folder, 'src');
        expect(child.real).toBe(path.join(sandbox.root, 'src'));
        expect(child.fd >= 0).toBe(verifyDescriptors);
        child.close();
        expect((await errorOf(() => sandbox.openChild(folder, 'inside.txt'))).code).toBe('ENOTDIR');
        if (!verifyDescriptors) {
          expect((await errorOf(() => sandbox.openChild(folder, 'inside.txt'))).message).toBe(
            `not a folder: ${path.join(sandbox.root, 'inside.txt')}`,
          );
        }
        expect((await errorOf(() => sandbox.openChild(folder, 'link-dir'))).code).toMatch(/^(ENOTDIR|ELOOP)$/);
        const followed = sandbox.openChild(folder, 'link-dir', { follow: true });
        expect(followed.real).toBe(path.join(sandbox.root, 'real-dir'));
        followed.close();
        expect((await errorOf(() => sandbox.openChild(folder, 'out', { follow: true }))).code).toBe('EOUTSIDE');
      } finally {
        folder.close();
      }
    });
  });

  describe('openFolder', () => {
    it('opens an existing folder, and creates missing ones only when asked', async () => {
      const src = sandbox.openFolder('src', 't');
      expect(src.real).toBe(path.join(sandbox.root, 'src'));
      src.close();
      const rootFolder = sandbox.openFolder('.', 't');
      expect(rootFolder.real).toBe(sandbox.root);
      rootFolder.close();
      expect((await errorOf(() => sandbox.openFolder('new/deeper', 'list_files'))).code).toBe('NOT_FOUND');
      await expect(stat(path.join(root, 'new'))).rejects.toThrow(/ENOENT/);
      const made = sandbox.openFolder('new/deeper', 't', { create: true });
      expect(made.real).toBe(path.join(sandbox.root, 'new', 'deeper'));
      made.close();
      expect((await stat(path.join(root, 'new', 'deeper'))).isDirectory()).toBe(true);
    });

    it('refuses a file in the way, a link outside, a dangling link and a protected folder', async () => {
      expect(await errorOf(() => sandbox.openFolder('inside.txt/x', 'write_file', { create: true }))).toMatchObject({
        code: 'DENIED',
        message: `write_file: refused to write "inside.txt/x": inside.txt is a file, not a folder. Allowed root: ${sandbox.root}`,
        fix: 'write to a regular file inside the allowed root',
      });
      expect(await errorOf(() => sandbox.openFolder('out/x', 't', { create: true }))).toMatchObject({
        code: 'PATH_OUTSIDE_ROOT',
        message: `t: refused path "out/x": it leads outside the workspace through a symbolic link. Allowed root: ${sandbox.root}`,
      });
      expect(await errorOf(() => sandbox.openFolder('dangling/x', 't', { create: true }))).toMatchObject({
        code: 'PATH_OUTSIDE_ROOT',
        message: `t: refused path "dangling/x": it is a symbolic link whose target does not exist or is outside. Allowed root: ${sandbox.root}`,
      });
      await expect(stat(path.join(root, 'nowhere'))).rejects.toThrow(/ENOENT/);
      const state = await errorOf(() => sandbox.openFolder('.unity/x', 'write_file', { create: true, protect: true }));
      expect(state).toEqual(
        expect.objectContaining({
          code: 'DENIED',
          message:
            'write_file: refused to write ".unity/x": .unity is the tools\' own state (protected: .unity), which only the tools that keep it may change',
          fix: 'write somewhere else in the workspace; change the memory with add_entities, add_relations or add_observations',
        }),
      );
      await expect(stat(path.join(root, '.unity', 'x'))).rejects.toThrow(/ENOENT/);
      const unprotected = sandbox.openFolder('.unity/y', 't', { create: true });
      unprotected.close();
    });
  });

  describe('writeFile', () => {
    it('creates a file atomically, leaving no temporary file, and reports what it wrote', async () => {
      expect(await sandbox.writeFile('src/new/b.txt', 'héllo', 'write_file')).toEqual({
        real: path.join(sandbox.root, 'src', 'new', 'b.txt'),
        rel: 'src/new/b.txt',
        created: true,
        bytes: 6,
      });
      expect(await readFile(path.join(root, 'src', 'new', 'b.txt'), 'utf8')).toBe('héllo');
      expect(await readdir(path.join(root, 'src', 'new'))).toEqual(['b.txt']);
    });

    it('replaces an existing file, keeping its mode, and takes bytes as they are', async () => {
      await chmod(path.join(root, 'src', 'a.txt'), 0o640);
      const result = await sandbox.writeFile('src/a.txt', new Uint8Array([1, 2, 3]), 'write_file');
      expect(result).toMatchObject({ created: false, bytes: 3, rel: 'src/a.txt' });
      expect([...(await readFile(path.join(root, 'src', 'a.txt')))]).toEqual([1, 2, 3]);
      expect((await stat(path.join(root, 'src', 'a.txt'))).mode & 0o7777).toBe(0o640);
      expect(await readdir(path.join(root, 'src'))).toEqual(['a.txt']);
    });

    it('gives a new file the usual mode', async () => {
      await sandbox.writeFile('c.txt', 'c', 'write_file');
      const umask = process.umask();
      expect((await stat(path.join(root, 'c.txt'))).mode & 0o777).toBe(0o666 & ~umask);
    });

    it('refuses the root, a folder, a link, a pipe, a hard-linked file and protected paths, each saying why', async () => {
      const why = async (input: string) => (await errorOf(() => sandbox.writeFile(input, 'x', 'write_file'))).message;
      expect(await why('.')).toBe(
        `write_file: refused to write ".": it is the workspace root, a folder. Allowed root: ${sandbox.root}`,
      );
      expect(await why('src')).toContain(': it is a folder.');
      await symlink(path.join(root, 'src', 'a.txt'), path.join(root, 'alias.txt'));
      expect(await why('alias.txt')).toContain('it is a symbolic link; files are never written through links');
      execFileSync('mkfifo', [path.join(root, 'pipe')]);
      expect(await why('pipe')).toContain('it is not a regular file');
      await link(path.join(root, 'inside.txt'), path.join(root, 'hard.txt'));
      expect(await why('hard.txt')).toContain(
        'it is hard-linked (2 links), so writing it could change a file elsewhere',
      );
      expect(await why('.unity')).toContain('refused to write ".unity": .unity is the tools\' own state');
      expect(await why('dangling')).toContain('symbolic link');
      expect(await readFile(path.join(root, 'src', 'a.txt'), 'utf8')).toBe('A\n');
    });

    it('leaves no descriptor open behind it, whether it wrote or refused', async () => {
      const before = readdirSync('/proc/self/fd').length;
      for (let i = 0; i < 5; i++) {
        await sandbox.writeFile(`deep/${i}/f.txt`, 'x', 'write_file');
        await sandbox.writeFile(`deep/${i}/f.txt`, 'y', 'write_file');
        await errorOf(() => sandbox.writeFile('src', 'x', 'write_file'));
        await sandbox.resolveForWrite(`deep/${i}/g.txt`, 't');
      }
      expect(readdirSync('/proc/self/fd').length).toBe(before);
    });

    it('resolves a file for writing without writing it', async () => {
      expect(await sandbox.resolveForWrite('src/a.txt', 't')).toMatchObject({
        real: path.join(sandbox.root, 'src', 'a.txt'),
        rel: 'src/a.txt',
        existing: expect.objectContaining({ size: 2 }),
      });
      const fresh = await sandbox.resolveForWrite('src/fresh.txt', 't');
      expect(fresh).toEqual({ real: path.join(sandbox.root, 'src', 'fresh.txt'), rel: 'src/fresh.txt' });
      await expect(stat(path.join(root, 'src', 'fresh.txt'))).rejects.toThrow(/ENOENT/);
    });
  });
});

describe('Sandbox: its root', () => {
  it('says why a root is refused: missing, or not a folder', async () => {
    expect(await errorOf(() => new Sandbox(path.join(base, 'missing')))).toMatchObject({
      code: 'INVALID_CONFIG',
      message: `workspace root ${path.join(base, 'missing')} does not exist (ENOENT)`,
      fix: 'create the folder or pass an existing one as the root',
    });
    expect(await errorOf(() => new Sandbox(path.join(root, 'inside.txt')))).toMatchObject({
      code: 'INVALID_CONFIG',
      message: `workspace root ${path.join(root, 'inside.txt')} is not a folder`,
      fix: 'pass a folder as the root',
    });
  });

  it('drops the root itself from the protected paths', () => {
    expect(new Sandbox(root, { protectedPaths: ['.', './', '/', 'a//', 'b/c/'] }).protectedPaths).toEqual(['a', 'b/c']);
  });

  it('verifies descriptors where /proc/self/fd works, unless told otherwise', () => {
    expect(new Sandbox(root).verifiesDescriptors).toBe(procFdAvailable());
    expect(new Sandbox(root, { verifyDescriptors: false }).verifiesDescriptors).toBe(false);
  });
});
