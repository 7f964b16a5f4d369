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
    expect(await check('mkfs.ext4 disk.img')).toEqual({ action: 'deny', reason: '"mkfs.ext4" is on the deny list' });
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

describe('parseCommand: what it refuses, and how', () => {
  it('refuses with DENIED, saying why and how to do it instead', () => {
    let error: unknown;
    try {
      parseCommand('ls # list');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'DENIED',
      message: 'execute_command: a comment (#) cannot be vetted and is not allowed (commands run without a shell)',
      fix: 'run one simple command per call (program and arguments), and chain calls instead of using operators',
    });
  });

  it('refuses an empty command', () => {
    expect(() => parseCommand('   ')).toThrow('execute_command: an empty command cannot be vetted');
  });

  it('turns a refused parse into a denial that carries the message', async () => {
    expect(await check('ls; rm -rf /')).toEqual({
      action: 'deny',
      reason:
        'execute_command: the shell operator ";" cannot be vetted and is not allowed (commands run without a shell)',
    });
  });
});

describe('CommandPolicy: the default lists', () => {
  it.each([
    'basename',
    'cat',
    'cmp',
    'cut',
    'date',
    'df',
    'diff',
    'dirname',
    'du',
    'echo',
    'egrep',
    'false',
    'fgrep',
    'file',
    'find',
    'git',
    'grep',
    'head',
    'ls',
    'md5sum',
    'nl',
    'printf',
    'pwd',
    'realpath',
    'rg',
    'sed',
    'sha256sum',
    'sort',
    'stat',
    'tail',
    'tr',
    'tree',
    'true',
    'uniq',
    'wc',
    'which',
  ])('runs %s without approval', async (program) => {
    expect(await check(program)).toMatchObject({ action: 'allow' });
  });

  it.each([
    'chroot',
    'crontab',
    'dd',
    'doas',
    'halt',
    'init',
    'kill',
    'killall',
    'mkfs',
    'mount',
    'nc',
    'ncat',
    'netcat',
    'nsenter',
    'pkill',
    'poweroff',
    'reboot',
    'scp',
    'shutdown',
    'socat',
    'ssh',
    'su',
    'sudo',
    'systemctl',
    'telnet',
    'umount',
  ])('never runs %s', async (program) => {
    expect(await check(`${program} x`)).toEqual({ action: 'deny', reason: `"${program}" is on the deny list` });
  });

  it('adds configured programs to the deny list, which wins over the allow list', async () => {
    const strict = new CommandPolicy(sandbox, { deny: ['cat'] });
    expect(await strict.check('cat a.txt', sandbox.root)).toEqual({
      action: 'deny',
      reason: '"cat" is on the deny list',
    });
    expect(await strict.check('sudo ls', sandbox.root)).toMatchObject({ action: 'deny' });
  });

  it('replaces the allow list when one is given', async () => {
    const own = new CommandPolicy(sandbox, { allow: ['node'] });
    expect(await own.check('ls', sandbox.root)).toEqual({
      action: 'approve',
      argv: ['ls'],
      reason: '"ls" is not on the allow list',
    });
  });

  it('keeps the names to scrub from the environment', () => {
    expect(new CommandPolicy(sandbox, { scrubEnv: ['DB_URL'] }).scrubNames).toEqual(['DB_URL']);
    expect(new CommandPolicy(sandbox).scrubNames).toEqual([]);
  });
});

describe('CommandPolicy: dangerous flags', () => {
  it.each([
    [
      'find',
      ['-exec', '-execdir', '-ok', '-okdir', '-delete', '-fprint', '-fprint0', '-fprintf', '-fls', '-L', '-follow'],
    ],
    ['rg', ['--pre', '--pre-glob', '-L', '--follow']],
    ['grep', ['-R', '--dereference-recursive']],
    ['egrep', ['-R', '--dereference-recursive']],
    ['fgrep', ['-R', '--dereference-recursive']],
    ['tree', ['-l']],
    ['sort', ['--compress-program']],
    ['date', ['-s', '--set']],
    [
      'curl',
      [
        '-o',
        '--output',
        '-O',
        '--remote-name',
        '--remote-name-all',
        '--output-dir',
        '-K',
        '--config',
        '-T',
        '--upload-file',
        '-D',
        '--dump-header',
        '-c',
        '--cookie-jar',
        '--trace',
        '--trace-ascii',
        '--libcurl',
        '--stderr',
      ],
    ],
    [
      'wget',
      [
        '-O',
        '--output-document',
        '-o',
        '--output-file',
        '-a',
        '--append-output',
        '-P',
        '--directory-prefix',
        '-i',
        '--input-file',
        '-e',
        '--execute',
      ],
    ],
    [
      'tar',
      [
        '--to-command',
        '--use-compress-program',
        '-I',
        '--checkpoint-action',
        '--info-script',
        '-F',
        '--new-volume-script',
      ],
    ],
    ['rsync', ['-e', '--rsh', '--rsync-path']],
  ] as const)('refuses each dangerous flag of %s, naming it', async (program, flags) => {
    for (const flag of flags) {
      expect(await check(`${program} ${flag} x`), flag).toEqual({
        action: 'deny',
        reason: `"${program} ${flag}" can run programs or write files; refused`,
      });
    }
  });

  it('finds a short flag in a cluster that ends in an attached value', async () => {
    expect(await check('grep -nRm5 secret .')).toEqual({
      action: 'deny',
      reason: '"grep -R" can run programs or write files; refused',
    });
    expect(await check('tree -alL2')).toMatchObject({ action: 'deny' });
    expect(await check('rg -iLm5 x')).toMatchObject({ action: 'deny' });
    expect(await check('grep -nrm5 x src')).toMatchObject({ action: 'allow' });
  });

  it('matches a long flag given with =, and a short flag in a cluster or with a value attached', async () => {
    expect(await check('sort --compress-program=gzip a')).toMatchObject({ action: 'deny' });
    expect(await check('date -us 2030')).toMatchObject({ action: 'deny' });
    expect(await check('date -s2030-01-01')).toMatchObject({ action: 'deny' });
    expect(await check('tar -I./evil -xf a.tar')).toMatchObject({ action: 'deny' });
  });

  it('does not mistake other flags for dangerous ones', async () => {
    expect(await check('find . -executable')).toMatchObject({ action: 'allow' });
    expect(await check('find . -name -exec.txt')).toMatchObject({ action: 'allow' });
    expect(await check('tree -L 2')).toMatchObject({ action: 'allow' });
    expect(await check('grep -r x .')).toMatchObject({ action: 'allow' });
    expect(await check('date -u')).toMatchObject({ action: 'allow' });
    expect(await check('date +%s')).toMatchObject({ action: 'allow' });
    expect(await check('sort --compress-programs a')).toMatchObject({ action: 'allow' });
    expect(await check('rg --pre-globx y')).toMatchObject({ action: 'allow' });
    expect(await check('ls -s')).toMatchObject({ action: 'allow' });
    expect(await check('ls -c')).toMatchObject({ action: 'allow' });
    expect(await check('ls -5')).toMatchObject({ action: 'allow' });
  });

  it('checks the flags of a program named by path under its base name', async () => {
    expect(await check('/usr/bin/find . -delete')).toMatchObject({ action: 'deny' });
  });
});

describe('CommandPolicy: git', () => {
  it.each(['-c', '--config-env', '--exec-path', '--upload-pack', '--receive-pack'])(
    'refuses the global option %s before the subcommand',
    async (flag) => {
      expect(await check(`git ${flag}=x status`)).toEqual({
        action: 'deny',
        reason: `"git ${flag}=x" can change how git runs programs; refused`,
      });
    },
  );

  it('refuses a global option behind harmless ones, and one with no subcommand at all', async () => {
    expect(await check('git --no-pager -c core.pager=sh log')).toMatchObject({ action: 'deny' });
    expect(await check('git -c')).toMatchObject({ action: 'deny' });
    expect(await check('git')).toEqual({ action: 'allow', argv: ['git'] });
    expect(await check('git -C src status')).toMatchObject({ action: 'allow' });
  });

  it('finds the subcommand behind global options', async () => {
    expect(await check('git --no-pager push')).toMatchObject({ action: 'approve' });
    expect(await check('git --no-pager rebase -x ./evil.sh main')).toEqual({
      action: 'deny',
      reason: '"git rebase -x" runs another program; refused',
    });
    expect(await check('git --no-pager log -x')).toMatchObject({ action: 'allow' });
  });

  it('names the option of a subcommand that runs a program', async () => {
    expect(await check('git rebase --exec=./evil.sh main')).toEqual({
      action: 'deny',
      reason: '"git rebase --exec=./evil.sh" runs another program; refused',
    });
    expect(await check('git grep -nO x')).toMatchObject({ action: 'deny' });
    expect(await check('git rebase -i main')).toMatchObject({ action: 'allow' });
    expect(await check('git log -x')).toMatchObject({ action: 'allow' });
  });

  it.each([
    'archive',
    'bisect',
    'clone',
    'config',
    'credential',
    'daemon',
    'difftool',
    'fetch',
    'filter-branch',
    'ls-remote',
    'mergetool',
    'pull',
    'push',
    'remote',
    'send-email',
    'submodule',
  ])('asks before git %s', async (sub) => {
    expect(await check(`git ${sub}`)).toEqual({
      action: 'approve',
      argv: ['git', sub],
      reason: `"git ${sub}" reaches the network or changes configuration`,
    });
  });

  it('asks before a git named by path, for that reason first', async () => {
    expect(await check('/usr/bin/git push')).toMatchObject({
      action: 'approve',
      reason: '"/usr/bin/git" is a program named by path, not from the allow list',
    });
  });
});

describe('CommandPolicy: programs named by path', () => {
  it('asks before a program given by path even when its base name is allowed', async () => {
    expect(await check('./ls -la')).toEqual({
      action: 'approve',
      argv: ['./ls', '-la'],
      reason: '"./ls" is a program named by path, not from the allow list',
    });
    expect(await check('/bin/cat src/a.txt')).toMatchObject({ action: 'approve' });
  });

  it('asks before a program by path even when unknown programs are denied', async () => {
    const strict = new CommandPolicy(sandbox, { unknown: 'deny' });
    expect(await strict.check('./build.sh', sandbox.root)).toMatchObject({ action: 'approve' });
    expect(await strict.check('node x.js', sandbox.root)).toEqual({
      action: 'deny',
      reason: '"node" is not on the allow list',
    });
  });
});

describe('CommandPolicy: paths in arguments', () => {
  it('checks a path glued to a short option', async () => {
    expect(await check('grep -f/etc/passwd x')).toEqual({
      action: 'deny',
      reason: `argument "-f/etc/passwd" names a path outside the workspace (allowed root: ${sandbox.root})`,
    });
    expect(await check('ls -I~/x')).toEqual({
      action: 'deny',
      reason: 'argument "-I~/x" names a path in a home folder, outside the workspace',
    });
    expect(await check('ls -Isrc/x')).toMatchObject({ action: 'allow' });
    expect(await check('ls -I..')).toEqual({
      action: 'deny',
      reason: `argument "-I.." names a path outside the workspace (allowed root: ${sandbox.root})`,
    });
    expect(await check('ls -I.')).toMatchObject({ action: 'allow' });
    expect(await check('head -n5 src/a.txt')).toMatchObject({ action: 'allow' });
  });

  it('checks the value of a long option given with =, and skips one without', async () => {
    expect(await check('ls --ignore=/etc')).toMatchObject({ action: 'deny' });
    expect(await check('ls --color')).toMatchObject({ action: 'allow' });
    expect(await check('ls --ignore=')).toMatchObject({ action: 'allow' });
    expect(await check('ls --hide=~')).toMatchObject({
      action: 'deny',
      reason: 'argument "--hide=~" names a path in a home folder, outside the workspace',
    });
  });

  it('names the operand that leaves the workspace and the root', async () => {
    expect(await check('cat src/a.txt /etc/passwd')).toEqual({
      action: 'deny',
      reason: `argument "/etc/passwd" names a path outside the workspace (allowed root: ${sandbox.root})`,
    });
    expect(await check('cat ~root/.ssh/id_rsa')).toEqual({
      action: 'deny',
      reason: 'argument "~root/.ssh/id_rsa" names a path in a home folder, outside the workspace',
    });
  });

  it('takes relative paths from the working folder', async () => {
    const src = path.join(sandbox.root, 'src');
    expect(await policy.check('cat ../a.txt', src)).toMatchObject({ action: 'allow' });
    expect(await policy.check('cat ../../a.txt', src)).toMatchObject({ action: 'deny' });
  });

  it('skips only the first operand of a pattern-first program, and none once -e or -f gives the pattern', async () => {
    expect(await check('grep /etc/passwd src')).toMatchObject({ action: 'allow' });
    expect(await check('grep x /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('grep -E /etc/passwd src')).toMatchObject({ action: 'allow' });
    expect(await check('grep -e x /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('grep -f p.txt /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('grep --regexp=x /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('sed --expression=p /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('rg x /etc')).toMatchObject({ action: 'deny' });
    expect(await check('egrep /etc/passwd src')).toMatchObject({ action: 'allow' });
    expect(await check('fgrep /etc/passwd src')).toMatchObject({ action: 'allow' });
    expect(await check('rg /etc/passwd src')).toMatchObject({ action: 'allow' });
    expect(await check('cat /etc/passwd src')).toMatchObject({ action: 'deny' });
    // Only an option that starts with -e/-f (or names the pattern) moves the pattern out of the operands.
    expect(await check('grep /x-e src')).toMatchObject({ action: 'allow' });
    expect(await check('grep /x--file src')).toMatchObject({ action: 'allow' });
    expect(await check('grep -efoo /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('grep -fp.txt /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('grep --expression=x /etc/passwd')).toMatchObject({ action: 'deny' });
    expect(await check('grep --file p.txt /etc/passwd')).toMatchObject({ action: 'deny' });
  });

  it('lets a lone dash and a double dash through as the non-paths they are', async () => {
    expect(await check('cat -')).toMatchObject({ action: 'allow' });
    expect(await check('grep -- -x src')).toMatchObject({ action: 'allow' });
    // A lone dash is an operand: for grep, the pattern; the next operand is a path.
    expect(await check('grep - /etc/passwd')).toMatchObject({ action: 'deny' });
  });

  it('refuses a home folder glued to a short option', async () => {
    expect(await check('ls -I~x')).toEqual({
      action: 'deny',
      reason: 'argument "-I~x" names a path in a home folder, outside the workspace',
    });
  });

  it('stops the check with the error of a path that cannot be resolved (a symlink loop): nothing runs', async () => {
    await symlink('loop', path.join(sandbox.root, 'loop'));
    try {
      await expect(check('cat loop')).rejects.toMatchObject({ code: 'ELOOP' });
    } finally {
      await rm(path.join(sandbox.root, 'loop'), { force: true });
    }
  });
});

describe('CommandPolicy: sed', () => {
  it('refuses sed -i on files under .git, however the option is spelled', async () => {
    expect(await check('sed -i s/a/b/ .git/config')).toEqual({
      action: 'deny',
      reason: '"sed -i" on .git/config: files under .git are not edited',
    });
    expect(await check('sed --in-place=.bak s/a/b/ src/.git/hooks/pre-commit')).toMatchObject({ action: 'deny' });
    expect(await check('sed -ni s/a/b/ .git/HEAD')).toMatchObject({ action: 'deny' });
    expect(await check('sed --in-place s/a/b/ .git')).toMatchObject({ action: 'deny' });
  });

  it('lets sed -i edit other files, and sed read files under .git', async () => {
    expect(await check('sed -i s/a/b/ src/.github/ci.yml')).toEqual({
      action: 'allow',
      argv: ['sed', '--sandbox', '-i', 's/a/b/', 'src/.github/ci.yml'],
    });
    expect(await check('sed -n p .git/config')).toMatchObject({ action: 'allow' });
    expect(await check('cat .git/config')).toEqual({ action: 'allow', argv: ['cat', '.git/config'] });
    expect(await check('ls -i .git/objects')).toMatchObject({ action: 'allow' });
  });

  it('adds --sandbox once, and only to sed', async () => {
    expect(await check('sed --sandbox -n p src/a.txt')).toEqual({
      action: 'allow',
      argv: ['sed', '--sandbox', '-n', 'p', 'src/a.txt'],
    });
    expect(await check('cat src/a.txt')).toEqual({ action: 'allow', argv: ['cat', 'src/a.txt'] });
  });

  it('adds --sandbox to a sed named by path as well', async () => {
    expect(await check('/bin/sed -n p src/a.txt')).toMatchObject({
      action: 'approve',
      argv: ['/bin/sed', '--sandbox', '-n', 'p', 'src/a.txt'],
    });
  });
});
