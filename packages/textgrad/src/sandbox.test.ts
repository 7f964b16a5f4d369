import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvolutionError } from './errors';
import { runSandboxed } from './sandbox';

const isRoot = process.getuid?.() === 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('runSandboxed', () => {
  it('runs the command in a temporary copy holding the candidate and the evaluator files, then removes it', async () => {
    const result = await runSandboxed({
      command: 'cat helper.txt; pwd; cat',
      fileName: 'cand.txt',
      source: 'the candidate',
      files: { 'helper.txt': 'from the evaluator\n' },
    });
    const [helper, dir, candidate] = result.stdout.split('\n');
    expect(helper).toBe('from the evaluator');
    expect(candidate).toBe('the candidate');
    expect(dir).toContain('unity-eval-');
    expect(existsSync(dir as string)).toBe(false);
  });

  it('kills the whole process group at the timeout, strays included', async () => {
    const result = await runSandboxed(
      { command: 'sleep 60 & echo $!; sleep 60; true #', fileName: 'c', source: '' },
      // Unconfined, so that the stray's host PID can be watched; the OS sandbox's own kill is tested below.
      { timeoutMs: 300, user: 'inherit', sandbox: 'none' },
    );
    expect(result.timedOut).toBe(true);
    expect(result.exitSignal).toBe('SIGKILL');
    const stray = Number(result.stdout.trim());
    expect(stray).toBeGreaterThan(0);
    await expect.poll(() => alive(stray), { timeout: 10_000 }).toBe(false);
  });

  it('kills background strays as soon as the command exits', async () => {
    const result = await runSandboxed(
      { command: 'sleep 60 & echo $!; echo done #', fileName: 'c', source: '' },
      { user: 'inherit', sandbox: 'none' },
    );
    const [pid, done] = result.stdout.trim().split('\n');
    expect(done).toBe('done');
    const stray = Number(pid);
    expect(stray).toBeGreaterThan(0);
    await expect.poll(() => alive(stray), { timeout: 10_000 }).toBe(false);
  });

  it('keeps only the tail of output past the cap', async () => {
    const result = await runSandboxed(
      { command: 'head -c 300000 /dev/zero | tr "\\\\0" a; echo; echo 77 #', fileName: 'c', source: '' },
      { maxOutputBytes: 1000 },
    );
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBeLessThanOrEqual(1000);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('77');
  });

  it('lets only allow-listed variables through: no secrets, no service URLs, no hint of the caller’s folders', async () => {
    const result = await runSandboxed(
      { command: 'env #', fileName: 'c', source: '' },
      {
        env: {
          PATH: process.env.PATH,
          LANG: 'C.UTF-8',
          OPENAI_API_KEY: 'sk-1',
          GITHUB_TOKEN: 'ghp',
          DATABASE_URL: 'postgres://db-url',
          REDIS_URL: 'redis://redis-url',
          PWD: '/work/project',
          KEEP_ME: 'yes',
        },
        envPassthrough: ['KEEP_ME'],
      },
    );
    expect(result.stdout).toContain('KEEP_ME=yes');
    expect(result.stdout).toContain('LANG=C.UTF-8');
    for (const leaked of ['sk-1', 'ghp', 'db-url', 'redis-url', '/work/project']) {
      expect(result.stdout).not.toContain(leaked);
    }
  });

  it('starts from an empty environment unless the caller passes one', async () => {
    process.env.UNITY_SANDBOX_PROBE = 'from-the-parent';
    try {
      const result = await runSandboxed({ command: 'env #', fileName: 'c', source: '' });
      expect(result.stdout).not.toContain('UNITY_SANDBOX_PROBE');
      expect(result.stdout).toContain('HOME=');
    } finally {
      delete process.env.UNITY_SANDBOX_PROBE;
    }
  });

  it.skipIf(!isRoot)(
    'runs as nobody when unconfined and the caller is root, so files outside its folder are out of reach',
    async () => {
      const outside = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
      const result = await runSandboxed(
        { command: `id -u; echo pwned > ${outside}/x 2>/dev/null || echo denied #`, fileName: 'c', source: '' },
        { sandbox: 'none' },
      );
      expect(result.stdout.trim().split('\n')).toEqual(['65534', 'denied']);
      expect(existsSync(join(outside, 'x'))).toBe(false);
    },
  );

  it('runs in the OS sandbox as uid 1000: nothing outside its folder is writable, /tmp is private', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
    const result = await runSandboxed({
      command: `id -u; echo pwned > ${outside}/x || echo denied; echo y > /tmp/left; ls /tmp #`,
      fileName: 'c',
      source: '',
    });
    expect(result.stdout.trim().split('\n').slice(0, 2)).toEqual(['1000', 'denied']);
    expect(existsSync(join(outside, 'x'))).toBe(false);
    expect(existsSync(join(tmpdir(), 'left'))).toBe(false);
  });

  it('refuses to evaluate when the OS sandbox is unavailable, naming the fixes', async () => {
    const error = await runSandboxed(
      { command: 'true', fileName: 'c', source: '' },
      { bwrapPath: '/nonexistent/bwrap' },
    ).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('SANDBOX_UNAVAILABLE');
    expect(error.fix).toMatch(/apt-get install bubblewrap/);
  });

  it('rejects a file path that leaves the sandbox folder', async () => {
    const error = await runSandboxed({ command: 'true', fileName: '../escape.txt', source: '' }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('fileName');
  });

  it('rejects with ABORTED and kills the process when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await runSandboxed({
      command: 'sleep 30 #',
      fileName: 'c',
      source: '',
      signal: controller.signal,
    }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('ABORTED');
  });

  it('leaves the caller’s files alone when the candidate deletes the evaluator copy', async () => {
    const result = await runSandboxed({
      command: 'rm -f eval.sh; ls #',
      fileName: 'c',
      source: '',
      files: { 'eval.sh': 'echo 1' },
    });
    expect(result.stdout).not.toContain('eval.sh');
    expect(readFileSync(new URL(import.meta.url), 'utf8')).toContain('leaves the caller');
  });
});
