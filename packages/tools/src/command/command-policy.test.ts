import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox';
import { CommandPolicy, parseCommand } from './command-policy';

let base: string;
let sandbox: Sandbox;
let policy: CommandPolicy;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'unity-policy-'));
  await mkdir(path.join(base, 'app', 'src'), { recursive: true });
  await mkdir(path.join(base, 'app-evil'));
  await symlink(path.join(base, 'app-evil'), path.join(base, 'app', 'out'));
  sandbox = new Sandbox(path.join(base, 'app'));
  policy = new CommandPolicy(sandbox);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const check = (command: string) => policy.check(command, sandbox.root);

describe('parseCommand', () => {
  it('splits a command into argv, honouring quotes', () => {
    expect(parseCommand(`grep -rn "two words" 'src dir'`)).toEqual(['grep', '-rn', 'two words', 'src dir']);
  });

  it.each([
    ['ls; rm -rf /', ';'],
    ['ls && rm x', '&&'],
    ['ls || rm x', '||'],
    ['cat a | sh', '|'],
    ['sleep 1 &', '&'],
    ['echo x > file', '>'],
    ['echo x >> file', '>>'],
    ['sh < file', '<'],
    ['echo $(id)', '('],
    ['cat <(ls)', '<('],
  ])('refuses the shell operator in %s', (command, op) => {
    expect(() => parseCommand(command)).toThrow(
      new RegExp(`operator "${op.replace(/[|()&]/g, (c) => `\\${c}`)}"|variable expansion`),
    );
  });

  it('refuses backticks, variables and NUL bytes', () => {
    expect(() => parseCommand('echo `id`')).toThrow(/backtick/);
    expect(() => parseCommand('echo $HOME')).toThrow(/variable expansion/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell syntax under test
    expect(() => parseCommand('echo "${OPENAI_API_KEY}"')).toThrow(/variable expansion/);
    expect(() => parseCommand('ls\u0000')).toThrow(/NUL/);
  });

  it('keeps a glob literally (no shell expands it)', () => {
    expect(parseCommand('ls *.ts')).toEqual(['ls', '*.ts']);
  });
});

describe('CommandPolicy', () => {
  it('allows a listed read-only program', async () => {
    expect(await check('ls -la src')).toEqual({ action: 'allow', argv: ['ls', '-la', 'src'] });
    expect(await check('git status')).toMatchObject({ action: 'allow' });
  });

  it('denies programs on the deny list, however they are named', async () => {
    expect(await check('sudo ls')).toMatchObject({ action: 'deny', reason: expect.stringMatching(/deny list/) });
    expect(await check('/usr/bin/sudo ls')).toMatchObject({ action: 'deny' });
    expect(await check('mkfs.ext4 /dev/sda')).toMatchObject({ action: 'deny' });
  });

  it.each([
    'find . -exec rm {} ;',
    'find . -execdir sh -c x ;',
    'find . -delete',
    'rg --pre ./evil.sh foo',
    'rg --pre=./evil.sh foo',
    'curl -o x https://example.com',
    'curl --output=x https://example.com',
    'curl -sSLo x https://example.com',
    'wget -O x https://example.com',
    'git -c core.pager=sh log',
    'git --exec-path=. status',
    'tar -I ./evil -xf a.tar',
    'git rebase -x ./evil.sh main',
    'git rebase --exec=./evil.sh main',
    'git grep -O./evil.sh foo',
    'git grep --open-files-in-pager=./evil.sh foo',
    'sort --compress-program=./evil.sh a.txt',
    'date -s 2030-01-01',
    'grep -R secret .',
    'grep -rR secret .',
    'rg -L secret',
    'find -L . -name x',
  ])('denies a dangerous flag: %s', async (command) => {
    expect(await check(command)).toMatchObject({ action: 'deny' });
  });

  it('allows flags that are harmless where they stand: git log -c, git clean -x, git cherry-pick -x', async () => {
    expect(await check('git log -c')).toMatchObject({ action: 'allow' });
    expect(await check('git clean -fdx')).toMatchObject({ action: 'allow' });
    expect(await check('git cherry-pick -x abc123')).toMatchObject({ action: 'allow' });
  });

  it('denies arguments naming paths outside the root, through .., absolute paths, symlinks or ~', async () => {
    expect(await check('cat /etc/passwd')).toMatchObject({ action: 'deny', reason: expect.stringMatching(/outside/) });
    expect(await check('cat ../app-evil/x')).toMatchObject({ action: 'deny' });
    expect(await check('cat out/secret.txt')).toMatchObject({ action: 'deny' });
    expect(await check('ls ~')).toMatchObject({ action: 'deny' });
    expect(await check('grep --file=/etc/shadow x')).toMatchObject({ action: 'deny' });
    expect(await check('sed -i s/a/b/ /etc/hosts')).toMatchObject({ action: 'deny' });
    expect(await check('sed -n -e p /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('find / -name x')).toMatchObject({ action: 'deny' });
  });

  it('treats the first operand of grep as a pattern, not a path', async () => {
    expect(await check('grep -rn /api/ src')).toMatchObject({ action: 'allow' });
  });

  it('runs sed with --sandbox so its e, w and r commands are refused', async () => {
    expect(await check('sed -n 1p src/a.txt')).toEqual({
      action: 'allow',
      argv: ['sed', '--sandbox', '-n', '1p', 'src/a.txt'],
    });
  });

  it('asks for approval for programs not on the allow list, programs named by path, and network git', async () => {
    expect(await check('node -e 1')).toMatchObject({
      action: 'approve',
      reason: expect.stringMatching(/not on the allow list/),
    });
    expect(await check('./build.sh')).toMatchObject({ action: 'approve' });
    expect(await check('git push origin main')).toMatchObject({ action: 'approve' });
    expect(await check('git bisect run ./test.sh')).toMatchObject({ action: 'approve' });
    expect(await check('git difftool HEAD~1')).toMatchObject({ action: 'approve' });
  });

  it('denies unknown programs outright when configured so, and honours a custom allow list', async () => {
    const strict = new CommandPolicy(sandbox, { unknown: 'deny', allow: ['node'] });
    expect(await strict.check('python3 x.py', sandbox.root)).toMatchObject({ action: 'deny' });
    expect(await strict.check('node x.js', sandbox.root)).toMatchObject({ action: 'allow' });
    expect(await strict.check('ls', sandbox.root)).toMatchObject({ action: 'deny' });
  });
});
