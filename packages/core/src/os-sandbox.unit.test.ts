import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_HOME, sandboxEnv, sandboxedArgv } from './os-sandbox';

/** The bubblewrap argv, without running it: what the sandbox is made of. */

let work: string;
let outside: string;

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'unity-argv-ws-'));
  outside = mkdtempSync(path.join(tmpdir(), 'unity-argv-outside-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** The `--flag a b` triples of an argv, as strings, for membership checks. */
function triples(argv: readonly string[], flag: string): string[] {
  const found: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === flag) found.push(`${argv[i + 1]} ${argv[i + 2]}`);
  });
  return found;
}

/** How the host's merged-/usr folders appear: links where the host has links, binds where it has folders. */
function usrMergedPart(): string[] {
  const part: string[] = [];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    const stats = lstatSync(dir, { throwIfNoEntry: false });
    if (stats?.isSymbolicLink()) part.push('--symlink', `usr${dir}`, dir);
    else if (stats) part.push('--ro-bind', dir, dir);
  }
  return part;
}

const etcNeeded = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'ssl/certs',
  'ca-certificates',
  'ca-certificates.conf',
  'localtime',
  'timezone',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'protocols',
  'services',
  'mime.types',
  'magic',
  'magic.mime',
  'os-release',
  'debian_version',
  'locale.alias',
];

/** This Node's install folder, bound read-only when it is not under /usr (CI runs Node 22 and 24 from a temp folder). */
const nodePrefix = path.dirname(path.dirname(realpathSync(process.execPath)));
const nodeBind =
  nodePrefix === '/usr' || nodePrefix.startsWith('/usr/') || nodePrefix.split('/').filter(Boolean).length < 2
    ? []
    : ['--ro-bind-try', nodePrefix, nodePrefix];

describe('sandboxedArgv: the bwrap command line', () => {
  it('is exactly: system folders read-only, own passwd/group, /etc essentials, private /tmp, binds, namespaces, argv', () => {
    const argv = sandboxedArgv(['ls', '-l'], 'bwrap', { writable: [work] }, work);
    const passwd = argv[argv.indexOf('/etc/passwd') - 1] as string;
    const group = argv[argv.indexOf('/etc/group') - 1] as string;
    expect(argv).toEqual([
      'bwrap',
      '--ro-bind',
      '/usr',
      '/usr',
      ...usrMergedPart(),
      '--ro-bind',
      passwd,
      '/etc/passwd',
      '--ro-bind',
      group,
      '/etc/group',
      ...etcNeeded.flatMap((name) => ['--ro-bind-try', `/etc/${name}`, `/etc/${name}`]),
      ...nodeBind,
      '--tmpfs',
      '/tmp',
      '--dir',
      SANDBOX_HOME,
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--bind',
      work,
      work,
      '--unshare-all',
      '--unshare-user',
      '--uid',
      '1000',
      '--gid',
      '1000',
      '--hostname',
      'unity-sandbox',
      '--cap-drop',
      'ALL',
      '--die-with-parent',
      '--new-session',
      '--chdir',
      work,
      '--',
      'ls',
      '-l',
    ]);
  });

  it('gives the sandbox its own users: root, unity (uid 1000, HOME in the sandbox) and nobody', () => {
    const argv = sandboxedArgv(['true'], 'bwrap', { writable: [work] }, work);
    const passwd = readFileSync(argv[argv.indexOf('/etc/passwd') - 1] as string, 'utf8');
    const group = readFileSync(argv[argv.indexOf('/etc/group') - 1] as string, 'utf8');
    expect(passwd).toBe(
      'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nunity:x:1000:1000:unity sandbox:/tmp/home:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    );
    expect(group).toBe('root:x:0:\nunity:x:1000:\nnogroup:x:65534:\n');
  });

  it('never binds credential files of /etc', () => {
    const argv = sandboxedArgv(['true'], 'bwrap', { writable: [work], network: true }, work).join(' ');
    for (const secret of ['/etc/shadow', '/etc/gshadow', '/etc/ssh', '/etc/sudoers', '/etc/npmrc', '/etc/gitconfig']) {
      expect(argv).not.toContain(secret);
    }
  });

  it('shares the network and name resolution only when asked', () => {
    const confined = sandboxedArgv(['true'], 'bwrap', { writable: [work] }, work);
    expect(confined).not.toContain('--share-net');
    expect(triples(confined, '--ro-bind-try')).not.toContain('/etc/hosts /etc/hosts');
    const shared = sandboxedArgv(['true'], 'bwrap', { writable: [work], network: true }, work);
    expect(shared.slice(shared.indexOf('--unshare-all'), shared.indexOf('--unshare-user'))).toEqual([
      '--unshare-all',
      '--share-net',
    ]);
    expect(triples(shared, '--ro-bind-try')).toEqual(
      expect.arrayContaining(['/etc/hosts /etc/hosts', '/etc/resolv.conf /etc/resolv.conf']),
    );
  });

  it('binds every writable folder read-write, readable ones read-only (when present), and runs the given bwrap', () => {
    const second = path.join(outside, 'second');
    mkdirSync(second);
    const argv = sandboxedArgv(
      ['true'],
      'bwrap',
      { writable: [work, second], readable: ['/opt/toolchain'], bwrapPath: '/usr/local/bin/bwrap' },
      second,
    );
    expect(argv[0]).toBe('/usr/local/bin/bwrap');
    expect(triples(argv, '--bind')).toEqual([`${work} ${work}`, `${second} ${second}`]);
    expect(triples(argv, '--ro-bind-try')).toContain('/opt/toolchain /opt/toolchain');
    expect(argv.slice(-4)).toEqual(['--chdir', second, '--', 'true']);
  });

  it('binds read-only paths inside a writable folder at their real path, after the writable binds', () => {
    mkdirSync(path.join(work, '.unity'));
    mkdirSync(path.join(work, 'real-hooks'));
    symlinkSync(path.join(work, 'real-hooks'), path.join(work, 'hooks'));
    const argv = sandboxedArgv(
      ['true'],
      'bwrap',
      { writable: [work], readOnly: [path.join(work, '.unity'), path.join(work, 'hooks')] },
      work,
    );
    const roBinds = triples(argv, '--ro-bind');
    expect(roBinds).toContain(`${path.join(work, '.unity')} ${path.join(work, '.unity')}`);
    expect(roBinds).toContain(`${path.join(work, 'real-hooks')} ${path.join(work, 'real-hooks')}`);
    expect(argv.lastIndexOf('--ro-bind')).toBeGreaterThan(argv.indexOf('--bind'));
  });

  it('never binds a read-only path that is missing, outside every writable folder, or a writable folder itself', () => {
    symlinkSync(outside, path.join(work, 'escape'));
    const argv = sandboxedArgv(
      ['true'],
      'bwrap',
      {
        writable: [work],
        readOnly: [path.join(work, 'missing'), outside, path.join(work, 'escape'), work, path.join(work, '..')],
      },
      work,
    );
    // Only the fixed binds: /usr, the merged-/usr folders that are folders here, passwd and group.
    const fixed = sandboxedArgv(['true'], 'bwrap', { writable: [work] }, work);
    expect(triples(argv, '--ro-bind')).toEqual(triples(fixed, '--ro-bind'));
  });

  it('binds a read-only path inside any one of several writable folders', () => {
    const second = path.join(outside, 'second');
    mkdirSync(second);
    mkdirSync(path.join(work, '.unity'));
    const argv = sandboxedArgv(
      ['true'],
      'bwrap',
      { writable: [second, work], readOnly: [path.join(work, '.unity')] },
      work,
    );
    expect(triples(argv, '--ro-bind')).toContain(`${path.join(work, '.unity')} ${path.join(work, '.unity')}`);
  });

  it('does not take a sibling folder sharing the prefix of a writable one for a path inside it', () => {
    const sibling = `${work}-sibling`;
    mkdirSync(sibling);
    try {
      const argv = sandboxedArgv(['true'], 'bwrap', { writable: [work], readOnly: [sibling] }, work);
      expect(triples(argv, '--ro-bind').join('\n')).not.toContain(sibling);
    } finally {
      rmSync(sibling, { recursive: true, force: true });
    }
  });

  it('leaves argv alone with mode none, as a copy', () => {
    const argv = ['ls'];
    const result = sandboxedArgv(argv, 'none', { writable: [work] }, work);
    expect(result).toEqual(['ls']);
    expect(result).not.toBe(argv);
  });

  it('keeps the same passwd and group files for every command of a process', () => {
    const a = sandboxedArgv(['true'], 'bwrap', { writable: [work] }, work);
    const b = sandboxedArgv(['true'], 'bwrap', { writable: [work] }, work);
    expect(a[a.indexOf('/etc/passwd') - 1]).toBe(b[b.indexOf('/etc/passwd') - 1]);
    expect(existsSync(a[a.indexOf('/etc/passwd') - 1] as string)).toBe(true);
  });
});

describe('sandboxEnv: an allow-list', () => {
  it('copies PATH, LANG, LANGUAGE, LC_ALL, LC_CTYPE, TERM and TZ, and nothing else', () => {
    const base = {
      PATH: '/p',
      LANG: 'l',
      LANGUAGE: 'lg',
      LC_ALL: 'a',
      LC_CTYPE: 'c',
      TERM: 't',
      TZ: 'z',
      LC_MESSAGES: 'm',
      HOME: '/root',
      TMPDIR: '/var/tmp',
      OPENAI_API_KEY: 'k',
    };
    expect(sandboxEnv(base)).toEqual({
      PATH: '/p',
      LANG: 'l',
      LANGUAGE: 'lg',
      LC_ALL: 'a',
      LC_CTYPE: 'c',
      TERM: 't',
      TZ: 'z',
      HOME: SANDBOX_HOME,
      TMPDIR: '/tmp',
    });
  });

  it('gives the standard PATH when the host has none, and skips names the host does not set', () => {
    expect(sandboxEnv({ PATH: undefined, TERM: undefined }, { passthrough: ['MISSING'] })).toStrictEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/tmp/home',
      TMPDIR: '/tmp',
    });
  });

  it('points HOME and TMPDIR where told, and never takes them from the host through passthrough', () => {
    expect(
      sandboxEnv({ HOME: '/root', X: '1' }, { passthrough: ['HOME', 'X'], home: '/w/home', tmp: '/w/tmp' }),
    ).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      X: '1',
      HOME: '/w/home',
      TMPDIR: '/w/tmp',
    });
  });
});
