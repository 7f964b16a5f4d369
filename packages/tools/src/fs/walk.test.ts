import { lstatSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox';
import { walk } from './walk';

let base: string;
let root: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'unity-walk-'));
  root = path.join(base, 'app');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'a', 'deep'), { recursive: true });
  await mkdir(path.join(root, 'b'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'a', 'deep', 'x.txt'), 'x');
  await writeFile(path.join(root, 'b', 'y.txt'), 'y');
  await writeFile(path.join(outside, 'outside-only.txt'), 'secret');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function names(sandbox: Sandbox, onVisit?: (rel: string) => Promise<void>): Promise<string[]> {
  const start = await sandbox.openExisting('.', 'test');
  const seen: string[] = [];
  try {
    await walk(start.folder as NonNullable<typeof start.folder>, { sandbox, gitignore: false }, async (entry) => {
      seen.push(entry.rel);
      await onVisit?.(entry.rel);
      return undefined;
    });
  } finally {
    start.close();
  }
  return seen.sort();
}

/** Descriptors this process has open (Linux). */
const openFds = () => readdirSync('/proc/self/fd').length;

describe('walk', () => {
  it('visits every entry below the start folder', async () => {
    expect(await names(new Sandbox(root))).toEqual(['a', 'a/deep', 'a/deep/x.txt', 'b', 'b/y.txt']);
  });

  it('never follows a link, even to a folder inside', async () => {
    await symlink(path.join(root, 'b'), path.join(root, 'alias'));
    await symlink(outside, path.join(root, 'out'));
    const seen = await names(new Sandbox(root));
    expect(seen).toContain('alias');
    expect(seen).not.toContain('alias/y.txt');
    expect(seen.some((rel) => rel.includes('outside-only'))).toBe(false);
  });

  describe.runIf(process.platform === 'linux')('with descriptors verified through /proc/self/fd', () => {
    it('does not enter a folder swapped for a link to the outside after it was listed', async () => {
      const seen = await names(new Sandbox(root), async (rel) => {
        if (rel !== 'b') return;
        await rename(path.join(root, 'b'), path.join(base, 'b-away'));
        await symlink(outside, path.join(root, 'b'));
      });
      expect(lstatSync(path.join(root, 'b')).isSymbolicLink()).toBe(true);
      expect(seen).toContain('b');
      expect(seen.some((rel) => rel.includes('outside-only'))).toBe(false);
    });

    it("opens a sub-folder through the descriptor of its folder, not through the folder's path", async () => {
      await mkdir(path.join(outside, 'deep'));
      await writeFile(path.join(outside, 'deep', 'outside-only.txt'), 'secret');
      const seen = await names(new Sandbox(root), async (rel) => {
        if (rel !== 'a/deep') return;
        // `a` is read and `deep` is waiting to be entered: move `a` (within the root) and put a link in its place.
        await rename(path.join(root, 'a'), path.join(root, 'a-moved'));
        await symlink(outside, path.join(root, 'a'));
      });
      expect(seen).toContain('a/deep/x.txt');
      expect(seen.some((rel) => rel.includes('outside-only'))).toBe(false);
    });

    it('closes every folder it opened, also when stopped early', async () => {
      const sandbox = new Sandbox(root);
      const before = openFds();
      await names(sandbox);
      const start = await sandbox.openExisting('.', 'test');
      try {
        await walk(start.folder as NonNullable<typeof start.folder>, { sandbox, gitignore: false }, () => false);
      } finally {
        start.close();
      }
      expect(openFds()).toBe(before);
    });
  });
});
