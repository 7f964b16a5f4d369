import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-config-cli-'));
  await mkdir(join(dir, 'configs'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function unity(env: Record<string, string>, ...args: string[]) {
  const environment = {
    ...process.env,
    UNITY_CONFIG: '',
    OLLAMA_HOST: '',
    UNITY_MODELS_DIR: '',
    NO_COLOR: '1',
    ...env,
  };
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd: dir, env: environment });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const seedLike = [
  'cloud_llm:',
  '  provider: minimax',
  '  model: MiniMax-M2',
  '  base_url: http://team:hunter2@minimax-proxy.local/v1',
  'server:',
  '  api_key: sk-live-abcdef',
  'tools:',
  '  network: true',
  '',
].join('\n');

describe('unity config show', () => {
  it('prints every setting with its value and origin: file line, environment, default; secrets masked', async () => {
    await writeFile(join(dir, 'configs', 'system.yaml'), seedLike);
    const { code, stdout } = await unity({ OLLAMA_HOST: 'gpu-box:11434' }, 'config', 'show');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^config: configs\/system\.yaml\n/);
    expect(stdout).toMatch(/cloud_llm\.model\s+"MiniMax-M2"\s+configs\/system\.yaml:3\n/);
    expect(stdout).toMatch(/ollama\.host\s+"http:\/\/gpu-box:11434"\s+env OLLAMA_HOST\n/);
    expect(stdout).toMatch(/tools\.network\s+true\s+configs\/system\.yaml:8\n/);
    expect(stdout).toMatch(/tools\.sandbox\s+"bwrap"\s+default\n/);
    expect(stdout).toMatch(/router\.retries\.max_retries\s+2\s+default\n/);
    expect(stdout).toMatch(/textgrad\.local_only\s+true\s+default\n/);
    expect(stdout).toMatch(/server\.api_key\s+"\*+"\s+configs\/system\.yaml:6\n/);
    expect(stdout).not.toMatch(/hunter2|sk-live/);
  });

  it('shows the web search settings the environment gives, the key masked', async () => {
    const { stdout } = await unity(
      { SEARXNG_URL: 'http://searx.local:8080', BRAVE_API_KEY: 'brave-secret-1' },
      'config',
      'show',
    );
    expect(stdout).toMatch(/tools\.web_search\.searxng_url\s+"http:\/\/searx\.local:8080"\s+env SEARXNG_URL\n/);
    expect(stdout).toMatch(/tools\.web_search\.brave_api_key\s+"\*+"\s+env BRAVE_API_KEY\n/);
    expect(stdout).not.toContain('brave-secret-1');
  });

  it('prints JSON with --json, and says when it runs on the built-in defaults', async () => {
    const { code, stdout } = await unity({}, 'config', 'show', '--json');
    expect(code).toBe(0);
    const shown = JSON.parse(stdout) as {
      source: string;
      settings: { path: string; value: unknown; origin: string }[];
    };
    expect(shown.source).toBe('built-in defaults');
    expect(shown.settings).toContainEqual({ path: 'cloud_llm.model', value: 'MiniMax-M2', origin: 'default' });
    expect(shown.settings.every((s) => s.origin === 'default')).toBe(true);
  });
});

describe('a reader that stops reading (unity … | head)', () => {
  it('ends the command quietly, without an EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [bin, 'config', 'show'], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Close the pipe before the command writes, as `head` does once it has what it wants.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});

describe('unity config validate', () => {
  it('says a valid file is valid', async () => {
    await writeFile(join(dir, 'mine.yaml'), seedLike);
    const { code, stdout } = await unity({}, 'config', 'validate', 'mine.yaml');
    expect(code).toBe(0);
    expect(stdout).toBe('mine.yaml: valid\n');
  });

  it('names each problem with its line and the fix, and exits 1', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'tools:\n  sandbox: docker\nserver:\n  port: ten\n');
    const { code, stderr } = await unity({}, 'config', 'validate', 'bad.yaml');
    expect(code).toBe(1);
    expect(stderr).toContain('bad.yaml:2: tools.sandbox: expected one of "bwrap", "none", got "docker"');
    expect(stderr).toContain('bad.yaml:4: server.port: expected number, got "ten"');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
