import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { domainSources } from './domains';

const exec = promisify(execFile);
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-domains-cli-'));
  await mkdir(join(dir, 'configs', 'domains'), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run `unity` in the temp folder; resolves with the exit code instead of rejecting. */
async function unity(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, UNITY_CONFIG: '', NO_COLOR: '1' };
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd: dir, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('unity domains list', () => {
  it('lists the built-ins with their models when there is no config', async () => {
    const { code, stdout } = await unity('domains', 'list');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+MODEL\s+SOURCE\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(/^calculation-heavy\s+ollama_chat\/qwen2\.5-coder:7b\s+built-in\s+Numerical work/);
    expect(lines).toHaveLength(5);
  });

  it('adds presets from ./configs/system.yaml and the configs/domains folder beside it', async () => {
    await writeFile(
      join(dir, 'configs', 'system.yaml'),
      'domains:\n  reasoning:\n    model_preference: minimax/MiniMax-M2\n',
    );
    await writeFile(
      join(dir, 'configs', 'domains', 'sql.yaml'),
      'description: Write and check SQL\nmodel_preference: coding\nsystem_prompt: You write SQL.\n',
    );
    const { code, stdout } = await unity('domains', 'list', '--json');
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as { name: string; model: string; source: string }[];
    expect(list.find((d) => d.name === 'reasoning')).toMatchObject({
      model: 'minimax/MiniMax-M2',
      source: `${join(dir, 'configs', 'system.yaml')}:2`,
    });
    expect(list.at(-1)).toMatchObject({
      name: 'sql',
      model: 'coding',
      source: `${join(dir, 'configs', 'domains', 'sql.yaml')}:1`,
    });
  });

  it('exits 1 naming file, line and field of an invalid preset, without a stack trace', async () => {
    await writeFile(
      join(dir, 'configs', 'domains', 'sql.yaml'),
      'description: SQL\nmodel_preference: coding\ntemperature: hot\nsystem_prompt: x\n',
    );
    const { code, stderr } = await unity('domains', 'list');
    expect(code).toBe(1);
    expect(stderr).toContain(`${join(dir, 'configs', 'domains', 'sql.yaml')}:3: temperature: `);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('unity domains show', () => {
  it('prints one preset as YAML with its source', async () => {
    const { code, stdout } = await unity('domains', 'show', 'implementation-heavy');
    expect(code).toBe(0);
    expect(stdout).toContain('# implementation-heavy (source: built-in)\n');
    expect(stdout).toContain('model_preference: ollama_chat/qwen2.5-coder:7b\n');
    expect(stdout).toContain('  max_iterations: 1000\n');
  });

  it('prints JSON with --json, from the config named by --config', async () => {
    const config = join(dir, 'elsewhere.yaml');
    await writeFile(config, 'domains:\n  research:\n    temperature: 0.7\n');
    const { stdout } = await unity('domains', 'show', 'research', '--config', config, '--json');
    expect(JSON.parse(stdout)).toMatchObject({ name: 'research', temperature: 0.7, source: `${config}:2` });
  });

  it('exits 1 naming the known domains for an unknown name', async () => {
    const { code, stderr } = await unity('domains', 'show', 'cooking');
    expect(code).toBe(1);
    expect(stderr).toContain(
      'no domain named "cooking" (known: calculation-heavy, implementation-heavy, reasoning, research)',
    );
  });
});

describe('domainSources', () => {
  it('prefers --config, then UNITY_CONFIG, and looks for domains/ beside the config file', () => {
    expect(domainSources({ config: 'a/b.yaml' }, { UNITY_CONFIG: 'x.yaml' }, '/w')).toEqual({
      configFile: '/w/a/b.yaml',
      dir: '/w/a/domains',
    });
    expect(domainSources({}, { UNITY_CONFIG: 'x.yaml' }, '/w')).toEqual({ configFile: '/w/x.yaml', dir: '/w/domains' });
  });

  it('uses ./configs/domains without a config, and --domains-dir over everything', () => {
    expect(domainSources({}, {}, '/nowhere')).toEqual({ dir: '/nowhere/configs/domains' });
    expect(domainSources({ domainsDir: 'd' }, {}, '/nowhere')).toEqual({ dir: '/nowhere/d' });
  });
});
