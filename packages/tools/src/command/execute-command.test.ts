import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
  const tool = (options = {}) => executeCommandTool(sandbox, { env: { PATH: process.env.PATH, ...options } });

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

  it('hands the command an environment without secrets', async () => {
    const t = executeCommandTool(sandbox, {
      env: {
        PATH: process.env.PATH,
        VISIBLE: 'yes',
        OPENAI_API_KEY: 'sk-leak',
        GH_TOKEN: 'ghp-leak',
        DB_PASSWORD: 'pw-leak',
        CUSTOM: 'custom-leak',
      },
      policy: { scrubEnv: ['CUSTOM'] },
    });
    const text = await t.execute({ command: 'env' }, approveAll);
    expect(text).toContain('VISIBLE=yes');
    expect(text).not.toMatch(/leak/);
  });

  it('keeps the head and tail of long output and notes the full length', async () => {
    const t = executeCommandTool(sandbox, { env: { PATH: process.env.PATH }, headBytes: 1000, tailBytes: 500 });
    const text = await t.execute({ command: 'seq 1 100000' }, approveAll);
    expect(text).toMatch(/^exit code 0\n1\n2\n3\n/);
    expect(text).toMatch(/100000\n$/);
    expect(text).toMatch(/bytes omitted; 588895 bytes in all, first 1000 and last 500 shown/);
    expect(text.length).toBeLessThan(1700);
  });

  it('kills the whole process group at the timeout, grandchildren included', async () => {
    const t = executeCommandTool(sandbox, { env: { PATH: process.env.PATH }, killGraceMs: 500 });
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

  it('kills background processes left behind when the program exits', async () => {
    const text = await tool().execute({ command: `sh -c 'sleep 100 & echo bg=$!'` }, approveAll);
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
