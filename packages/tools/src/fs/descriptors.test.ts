import { closeSync, constants, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Folder, pathAt, procFdAvailable, realPathOfFd } from './descriptors';

let base: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'unity-fd-'));
  await mkdir(path.join(base, 'inside'));
  await mkdir(path.join(base, 'outside'));
  await writeFile(path.join(base, 'inside', 'f.txt'), 'inside');
  await writeFile(path.join(base, 'outside', 'f.txt'), 'outside');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const openDir = (p: string) => openSync(p, constants.O_RDONLY | constants.O_DIRECTORY);

describe.runIf(process.platform === 'linux')('descriptors through /proc/self/fd', () => {
  it('detects /proc/self/fd on Linux', () => {
    expect(procFdAvailable()).toBe(true);
  });

  it('reports the real path of what a descriptor is open on, after links', async () => {
    await symlink(path.join(base, 'outside'), path.join(base, 'link'));
    const fd = openDir(path.join(base, 'link'));
    try {
      expect(realPathOfFd(fd)).toBe(path.join(base, 'outside'));
    } finally {
      closeSync(fd);
    }
  });

  it('names children of the opened folder even after its path is swapped for a link to elsewhere', async () => {
    const folder = new Folder(openDir(path.join(base, 'inside')), path.join(base, 'inside'));
    try {
      await rename(path.join(base, 'inside'), path.join(base, 'moved'));
      await symlink(path.join(base, 'outside'), path.join(base, 'inside'));
      expect(readFileSync(folder.path('f.txt'), 'utf8')).toBe('inside');
      writeFileSync(folder.path('new.txt'), 'x');
      expect(existsSync(path.join(base, 'moved', 'new.txt'))).toBe(true);
      expect(existsSync(path.join(base, 'outside', 'new.txt'))).toBe(false);
      expect(realPathOfFd(folder.fd)).toBe(path.join(base, 'moved'));
    } finally {
      folder.close();
    }
  });

  it('spells a child of a descriptor as /proc/self/fd/N/name', () => {
    expect(pathAt(7, 'a.txt')).toBe('/proc/self/fd/7/a.txt');
    expect(pathAt(7)).toBe('/proc/self/fd/7');
  });
});

describe('Folder', () => {
  it('names children by the real path in the fallback, without a descriptor', () => {
    const folder = new Folder(-1, path.join(base, 'inside'));
    expect(folder.path('f.txt')).toBe(path.join(base, 'inside', 'f.txt'));
    expect(folder.path()).toBe(path.join(base, 'inside'));
    folder.close();
  });

  it('closes its descriptor once, and never one it does not own', () => {
    const fd = openDir(path.join(base, 'inside'));
    const borrowed = new Folder(fd, path.join(base, 'inside'), false);
    borrowed.close();
    expect(() => closeSync(fd)).not.toThrow();
    const owned = new Folder(openDir(path.join(base, 'inside')), path.join(base, 'inside'));
    owned.close();
    expect(() => owned.close()).not.toThrow();
  });
});
