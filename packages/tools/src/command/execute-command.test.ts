import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ToolContext } from '../define-tool';
import { Sandbox } from '../sandbox';
import { executeCommandTool } from './execute-command';

let root: string;
let sandbox: Sandbox;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'unity-cmd-'));
  await mkdir(path.join(root, 'sub'));
  sandbox = new Sandbox(root);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const approveAll: ToolContext = { approve: async () => true };

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  // A killed orphan may linger as a zombie until PID 1 reaps it: dead all the same.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

/** The kernel finishes a killed process's exit a moment after its pipes close: wait (bounded) for it to be gone. */
async function expectGone(pid: number): Promise<void> {
  await vi.waitFor(() => expect(isGone(pid)).toBe(true), { timeout: 5_000, interval: 20 });
}

describe('execute_command', () => {
  const tool = () => executeCommandTool(sandbox, { env: { PATH: process.env.PATH } });
  /** Host PIDs are only visible outside the sandbox's PID namespace. */
  const unconfined = () => executeCommandTool(sandbox, { env: { PATH: process.env.PATH }, sandbox: 'none' });

  it('runs a program in the root and returns its exit code and output', async () => {
    expect(await tool().execute({ command: 'pwd' }, {})).toBe(`exit code 0\n${sandbox.root}\n`);
  });

  it('runs in a cwd inside the root, and refuses one outside', async () => {
    expect(await tool().execute({ command: 'pwd', cwd: 'sub' }, {})).toContain(path.join(sandbox.root, 'sub'));
    await expect(tool().execute({ command: 'pwd', cwd: '..' }, {})).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ROOT',
    });
  });

  it('returns a failing exit code as a result, with stderr', async () => {
    const text = await tool().execute({ command: 'ls does-not-exist' }, {});
    expect(text).toMatch(/^exit code 2\n.*does-not-exist/s);
  });

  it('refuses what the policy denies, without running it', async () => {
    await expect(tool().execute({ command: 'find . -delete' }, approveAll)).rejects.toMatchObject({ code: 'DENIED' });
  });

  it('refuses a command needing approval when nobody approves, and runs it when approved', async () => {
    await expect(tool().execute({ command: 'node -e "console.log(1)"' }, {})).rejects.toMatchObject({
      code: 'NOT_APPROVED',
      message: expect.stringMatching(/no approver is configured/),
    });
    await expect(
      tool().execute({ command: 'node -e "console.log(1)"' }, { approve: async () => false }),
    ).rejects.toMatchObject({
      code: 'NOT_APPROVED',
    });
    const reasons: string[] = [];
    const approve = async (reason: string) => {
      reasons.push(reason);
      return true;
    };
    expect(await tool().execute({ command: 'node -e "console.log(1)"' }, { approve })).toBe('exit code 0\n1\n');
    expect(reasons[0]).toMatch(/"node" is not on the allow list/);
  });

  it('says when a program does not exist', async () => {
    await expect(tool().execute({ command: 'no-such-program-xyz' }, approveAll)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('hands the command an allow-listed environment: the passed-through names, never the rest', async () => {
    const t = executeCommandTool(sandbox, {
      env: {
        PATH: process.env.PATH,
        LANG: 'C.UTF-8',
        VISIBLE: 'yes',
        DATABASE_URL: 'postgres://u:leak@db/x',
        REDIS_URL: 'redis://leak',
        SENTRY_DSN: 'https://leak@sentry',
        SLACK_WEBHOOK_URL: 'https://hooks/leak',
        AWS_ACCESS_KEY_ID: 'AKIA-leak',
        NPM_AUTH: 'leak',
        OPENAI_API_KEY: 'sk-leak',
        CUSTOM: 'custom-leak',
      },
      envPassthrough: ['VISIBLE', 'CUSTOM'],
      policy: { scrubEnv: ['CUSTOM'] },
    });
    const text = await t.execute({ command: 'env' }, approveAll);
    expect(text).toContain('VISIBLE=yes');
    expect(text).toContain('LANG=C.UTF-8');
    expect(text).toContain('HOME=/tmp/home');
    expect(text).not.toMatch(/leak/);
  });

  it('runs the command as an unprivileged user that sees only the workspace of the host folder it lies in', async () => {
    const text = await tool().execute({ command: `sh -c 'id -u; ls ${path.dirname(root)}; ls /root'` }, approveAll);
    const [status, uid, ...rest] = text.split('\n');
    expect(status).toBe('exit code 2');
    expect(uid).toBe('1000');
    // The sandbox's own HOME folder, the workspace, and nothing else of the host's temp folder.
    expect(rest.filter((l) => l && !l.includes('/root')).sort()).toEqual([path.basename(root), 'home'].sort());
    expect(text).toMatch(/No such file/);
  });

  it('kills every process the command started at its timeout, setsid daemons included', async () => {
    const marker = path.join(root, 'daemon-marker');
    await expect(
      tool().execute(
        {
          command: `sh -c 'setsid sh -c "while true; do date > ${marker}; sleep 0.05; done" & sleep 100'`,
          timeout_ms: 500,
        },
        approveAll,
      ),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    await rm(marker, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(() => readFileSync(marker)).toThrow();
  });

  it('refuses to run when the OS sandbox is unavailable, naming both fixes', async () => {
    const t = executeCommandTool(sandbox, { env: { PATH: process.env.PATH }, bwrapPath: '/nonexistent/bwrap' });
    await expect(t.execute({ command: 'pwd' }, {})).rejects.toMatchObject({
      code: 'SANDBOX_UNAVAILABLE',
      fix: expect.stringMatching(/apt-get install bubblewrap.*sandbox: none/s),
    });
  });

  it("leaves the tools' state and git's hooks and config read-only", async () => {
    await mkdir(path.join(root, '.git', 'hooks'), { recursive: true });
    await writeFile(path.join(root, '.git', 'config'), '[core]\n');
    const text = await tool().execute(
      {
        command: `sh -c 'echo x > .unity/memory.jsonl; echo x > .git/hooks/pre-commit; echo "[alias] x = !id" >> .git/config; echo done'`,
      },
      approveAll,
    );
    expect(text).toMatch(/Read-only file system/);
    expect(readFileSync(path.join(root, '.git', 'config'), 'utf8')).toBe('[core]\n');
    expect(() => readFileSync(path.join(root, '.git', 'hooks', 'pre-commit'))).toThrow();
    expect(() => readFileSync(path.join(root, '.unity', 'memory.jsonl'))).toThrow();
    await rm(path.join(root, '.git'), { recursive: true });
  });

  it('keeps the head and tail of long output and notes the full length', async () => {
    const t = executeCommandTool(sandbox, { env: { PATH: process.env.PATH }, headBytes: 1000, tailBytes: 500 });
    const text = await t.execute({ command: 'seq 1 100000' }, approveAll);
    expect(text).toMatch(/^exit code 0\n1\n2\n3\n/);
    expect(text).toMatch(/100000\n$/);
    expect(text).toMatch(/bytes omitted; 588895 bytes in all, first 1000 and last 500 shown/);
    expect(text.length).toBeLessThan(1700);
  });

  it('kills the whole process group at the timeout, grandchildren included (unconfined too)', async () => {
    const t = executeCommandTool(sandbox, { env: { PATH: process.env.PATH }, killGraceMs: 500, sandbox: 'none' });
    const error = await t
      // Generous for a loaded machine: the shell must have printed the grandchild's PID before the timeout.
      .execute({ command: `sh -c 'sleep 100 & echo grandchild=$!; sleep 100'`, timeout_ms: 4000 }, approveAll)
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code: string },
      );
    expect(error?.code).toBe('TIMEOUT');
    expect(error?.message).toMatch(/timeout_ms=4000; its process group was killed/);
    const pid = Number(/grandchild=(\d+)/.exec(error?.message ?? '')?.[1]);
    expect(pid).toBeGreaterThan(0);
    await expectGone(pid);
  });

  it('kills background processes left behind when the program exits (unconfined too)', async () => {
    const text = await unconfined().execute({ command: `sh -c 'sleep 100 & echo bg=$!'` }, approveAll);
    const pid = Number(/bg=(\d+)/.exec(text)?.[1]);
    expect(pid).toBeGreaterThan(0);
    await expectGone(pid);
  });

  it('kills the process group when the call is aborted', async () => {
    const controller = new AbortController();
    const running = tool().execute(
      { command: `sh -c 'echo started; sleep 100'` },
      { ...approveAll, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('cancelled')), 300);
    await expect(running).rejects.toThrow(/cancelled/);
  });
});
