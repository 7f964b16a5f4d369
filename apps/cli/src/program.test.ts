import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../bin/unity.js', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

describe('unity (built binary, as a real process)', () => {
  it('prints its version', async () => {
    const { stdout } = await run(process.execPath, [bin, '--version']);
    expect(stdout.trim()).toBe(version);
  });

  it('prints help naming the tool', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    expect(stdout).toContain('Usage: unity');
    expect(stdout).toContain('hybrid cloud/local');
  });

  it('rejects an unknown option with a short message and a non-zero exit', async () => {
    const error = await run(process.execPath, [bin, '--frobnicate']).catch((e) => e);
    expect(error.code).toBe(1);
    expect(error.stderr).toContain("unknown option '--frobnicate'");
    expect(error.stderr).not.toMatch(/\n\s+at /);
  });
});
