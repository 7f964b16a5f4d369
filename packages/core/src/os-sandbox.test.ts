import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  OsSandboxError,
  type OsSandboxPolicy,
  probeOsSandbox,
  requireOsSandbox,
  SANDBOX_HOME,
  sandboxEnv,
  sandboxedArgv,
} from './os-sandbox';
import { runProcessGroup } from './process-group';

let work: string;
let outside: string;

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'unity-os-sandbox-ws-'));
  outside = mkdtempSync(path.join(tmpdir(), 'unity-os-sandbox-outside-'));
  writeFileSync(path.join(outside, 'secret.txt'), 'the-outside-secret');
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function sh(script: string, policy: Partial<OsSandboxPolicy> = {}, timeoutMs = 10_000) {
  const argv = sandboxedArgv(['/bin/sh', '-c', script], 'bwrap', { writable: [work], ...policy }, work);
  return runProcessGroup(argv, {
    cwd: work,
    env: sandboxEnv({ PATH: process.env.PATH }),
    timeoutMs,
    headBytes: 10_000,
    tailBytes: 10_000,
  });
}

describe('sandboxEnv', () => {
  it('copies only allowed names, points HOME and TMPDIR into the sandbox, and passes named extras through', () => {
    const env = sandboxEnv(
      { PATH: '/x', LANG: 'C.UTF-8', DATABASE_URL: 'postgres://u:p@h/db', AWS_ACCESS_KEY_ID: 'A', MY_FLAG: '1' },
      { passthrough: ['MY_FLAG'] },
    );
    expect(env).toEqual({ PATH: '/x', LANG: 'C.UTF-8', MY_FLAG: '1', HOME: SANDBOX_HOME, TMPDIR: '/tmp' });
  });

  it('gives a standard PATH when the host has none', () => {
    expect(sandboxEnv({}).PATH).toContain('/usr/bin');
  });
});

describe('sandboxedArgv', () => {
  it('returns argv unchanged with mode none', () => {
    expect(sandboxedArgv(['ls', '-l'], 'none', { writable: [work] }, work)).toEqual(['ls', '-l']);
  });

  it('wraps argv in bwrap with the working folder, no network unless asked, and the command after --', () => {
    const argv = sandboxedArgv(['ls', '-l'], 'bwrap', { writable: [work] }, work);
    expect(argv[0]).toBe('bwrap');
    expect(argv.slice(-3)).toEqual(['--', 'ls', '-l']);
    expect(argv.join(' ')).toContain(`--chdir ${work}`);
    expect(argv).toContain('--unshare-all');
    expect(argv).not.toContain('--share-net');
    expect(sandboxedArgv(['ls'], 'bwrap', { writable: [work], network: true }, work)).toContain('--share-net');
  });
});

describe('probeOsSandbox', () => {
  it('reports a missing bubblewrap with the install fix', async () => {
    const probe = await probeOsSandbox({ bwrapPath: '/nonexistent/bwrap' });
    expect(probe.available).toBe(false);
    if (!probe.available) {
      expect(probe.reason).toMatch(/not installed/);
      expect(probe.fix).toMatch(/apt-get install bubblewrap/);
      expect(probe.fix).toMatch(/sandbox: none/);
    }
    await expect(requireOsSandbox('bwrap', { bwrapPath: '/nonexistent/bwrap' })).rejects.toSatisfy(
      (e: unknown) => OsSandboxError.isInstance(e) && e.code === 'SANDBOX_UNAVAILABLE',
    );
  });

  it('accepts mode none without probing', async () => {
    await expect(requireOsSandbox('none', { bwrapPath: '/nonexistent/bwrap' })).resolves.toBe('none');
  });

  it('finds the sandbox working on this machine', async () => {
    const probe = await probeOsSandbox();
    expect(probe).toMatchObject({ available: true, mode: 'bwrap' });
  });
});

describe('the files the sandbox needs on the host', () => {
  it('are removed when the process that ran sandboxed commands exits', () => {
    const temp = mkdtempSync(path.join(tmpdir(), 'unity-sandbox-tmpdir-'));
    try {
      const script = `import('${new URL('./os-sandbox.ts', import.meta.url).pathname}').then((m) => m.runConfined(['true'], 'bwrap', { writable: ['${temp}'] }, { cwd: '${temp}', env: {}, timeoutMs: 5000, headBytes: 10, tailBytes: 10 })).then((r) => console.log('exit', r.exitCode, require('node:fs').readdirSync('${temp}').filter((e) => e.startsWith('unity-sandbox-id-')).length))`;
      const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
        // No colours in console.log's numbers, whatever the test runner's environment asks for (nx sets FORCE_COLOR).
        env: { ...process.env, TMPDIR: temp, FORCE_COLOR: '0', NO_COLOR: '1' },
        encoding: 'utf8',
      });
      // While it ran, its passwd/group folder was there; after it, nothing is left.
      expect(out.trim()).toBe('exit 0 1');
      expect(readdirSync(temp).filter((e) => e.startsWith('unity-sandbox-id-'))).toEqual([]);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});

describe('a command inside the OS sandbox', () => {
  it('runs as uid 1000 with no capabilities, in its own hostname', async () => {
    const result = await sh('id -u; grep CapEff /proc/self/status; hostname');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^1000\nCapEff:\s+0000000000000000\nunity-sandbox\n$/);
  });

  it('writes the workspace but not outside it, and not the read-only paths inside it', async () => {
    mkdirSync(path.join(work, '.unity'));
    const result = await sh(
      `echo in > inside.txt; echo x > ${outside}/planted.txt; echo x > .unity/memory.jsonl; echo x > /usr/planted; echo done`,
      { readOnly: [path.join(work, '.unity')] },
    );
    expect(result.stdout).toContain('done');
    expect(readFileSync(path.join(work, 'inside.txt'), 'utf8')).toBe('in\n');
    expect(() => readFileSync(path.join(outside, 'planted.txt'))).toThrow();
    expect(() => readFileSync(path.join(work, '.unity', 'memory.jsonl'))).toThrow();
  });

  it('never binds a read-only path that is a link to outside the workspace', async () => {
    symlinkSync(outside, path.join(work, '.unity'));
    const result = await sh(`cat .unity/secret.txt; ls ${outside}`, { readOnly: [path.join(work, '.unity')] });
    expect(result.stdout).not.toContain('the-outside-secret');
    expect(result.stdout).toMatch(/No such file/);
  });

  it('sees nothing of the host outside the bound folders: no /root, no sibling folders, no /etc/shadow', async () => {
    const result = await sh(`cat ${outside}/secret.txt; ls /root; cat /etc/shadow; ls /home; cat /etc/passwd`);
    expect(result.stdout).not.toContain('the-outside-secret');
    expect(result.stdout).toMatch(/No such file/);
    expect(result.stdout).not.toMatch(/^root:[^x]/m);
    // Only the sandbox's own users are listed.
    expect(result.stdout).toContain(`unity:x:1000:1000:unity sandbox:${SANDBOX_HOME}`);
  });

  it('has an empty private /tmp and HOME, gone after the command', async () => {
    writeFileSync(path.join(tmpdir(), 'unity-host-tmp-marker'), 'host');
    try {
      const result = await sh('ls -A /tmp; echo --; ls -A "$HOME"; echo x > /tmp/left-behind; echo "$HOME"');
      expect(result.stdout).not.toContain('unity-host-tmp-marker');
      expect(result.stdout).toContain(SANDBOX_HOME);
      expect(() => readFileSync(path.join(tmpdir(), 'left-behind'))).toThrow();
    } finally {
      rmSync(path.join(tmpdir(), 'unity-host-tmp-marker'), { force: true });
    }
  });

  it('cannot reach a server listening on the host, not even on loopback, unless the network is shared', async () => {
    const server = createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const probe = `node -e "require('net').connect(${port},'127.0.0.1').on('data',d=>process.stdout.write('GOT '+d)).on('error',e=>console.log('ERR',e.code))"`;
    try {
      const confined = await sh(probe);
      expect(confined.stdout).toMatch(/ERR (ECONNREFUSED|ENETUNREACH)/);
      const shared = await sh(probe, { network: true });
      expect(shared.stdout).toContain('GOT hello from the host');
    } finally {
      server.close();
    }
  });

  it('kills a setsid daemon at the end of the command (PID namespace)', async () => {
    const marker = path.join(work, 'daemon-alive');
    const result = await sh(`setsid sh -c 'while true; do date > ${marker}; sleep 0.1; done' & echo started`);
    expect(result.stdout).toContain('started');
    rmSync(marker, { force: true });
    await new Promise((r) => setTimeout(r, 1500));
    expect(() => readFileSync(marker)).toThrow();
  });
});
