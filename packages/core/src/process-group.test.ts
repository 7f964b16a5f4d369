import { describe, expect, it } from 'vitest';
import { OutputCapture, runProcessGroup } from './process-group';

const base = {
  cwd: process.cwd(),
  env: { PATH: process.env.PATH },
  timeoutMs: 10_000,
  headBytes: 1000,
  tailBytes: 1000,
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('OutputCapture', () => {
  it('keeps everything within the budget', () => {
    const capture = new OutputCapture(4, 4);
    capture.push(Buffer.from('abcdef'));
    expect(capture.text()).toBe('abcdef');
    expect(capture.truncated).toBe(false);
  });

  it('keeps head and tail and notes how much of how much was cut', () => {
    const capture = new OutputCapture(3, 3);
    for (const piece of ['abc', 'def', 'ghi', 'jkl']) capture.push(Buffer.from(piece));
    expect(capture.truncated).toBe(true);
    expect(capture.text()).toBe('abc\n[… 6 bytes omitted; 12 bytes in all, first 3 and last 3 shown …]\njkl');
    expect(capture.text({ note: false })).toBe('abcjkl');
  });

  it('keeps only the tail when the head budget is 0', () => {
    const capture = new OutputCapture(0, 5);
    capture.push(Buffer.from('line one\nscore 42'));
    expect(capture.text({ note: false })).toBe('re 42');
  });
});

describe('runProcessGroup', () => {
  it('returns the exit code and interleaved output by default', async () => {
    const r = await runProcessGroup(['sh', '-c', 'echo out; echo err >&2; exit 3'], base);
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, aborted: false, stderr: '' });
    expect(r.stdout).toBe('out\nerr\n');
  });

  it('keeps stderr apart when asked', async () => {
    const r = await runProcessGroup(['sh', '-c', 'echo out; echo err >&2'], { ...base, mergeStderr: false });
    expect([r.stdout, r.stderr]).toEqual(['out\n', 'err\n']);
  });

  it('kills the whole group at the timeout, grandchildren included', async () => {
    const r = await runProcessGroup(['sh', '-c', 'sleep 100 & echo $!; sleep 100'], { ...base, timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    const grandchild = Number(r.stdout.trim());
    await expect.poll(() => alive(grandchild), { timeout: 5_000 }).toBe(false);
  });

  it('kills the group when the signal aborts', async () => {
    const controller = new AbortController();
    const run = runProcessGroup(['sleep', '100'], { ...base, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const r = await run;
    expect(r.aborted).toBe(true);
    expect(r.exitSignal).toBe('SIGKILL');
  });

  it('rejects when the program cannot be started', async () => {
    await expect(runProcessGroup(['definitely-not-a-program-x'], base)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('returns soon after the program exits even when a process that left the group holds stdout open', async () => {
    const result = await runProcessGroup(['/bin/sh', '-c', 'setsid sleep 30 & echo "daemon $!"'], base);
    expect(result.exitCode).toBe(0);
    const pid = Number(/daemon (\d+)/.exec(result.stdout)?.[1]);
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
  });
});
