import { link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ToolError } from './errors';
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

describe('Sandbox', () => {
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
