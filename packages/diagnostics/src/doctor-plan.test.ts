import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runChecks } from './check';
import { planDoctor } from './doctor-plan';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-doctor-plan-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function results(options: Parameters<typeof planDoctor>[0]) {
  const plan = await planDoctor(options);
  try {
    return await runChecks(plan.checks);
  } finally {
    await plan.close();
  }
}

describe('planDoctor', () => {
  it('reports an invalid config as a failed check naming file, line and field, with its fix', async () => {
    const file = join(dir, 'system.yaml');
    await writeFile(file, 'cloud_llm:\n  enabled: true\n  timeout_seconds: ten\n');
    const [config, node, ...rest] = await results({ configPath: file, env: {} });
    expect(config).toMatchObject({
      id: 'config',
      status: 'fail',
      required: true,
      message: expect.stringContaining(`${file}:3: cloud_llm.timeout_seconds: expected number, got "ten"`),
      fix: expect.stringContaining('cloud_llm.timeout_seconds'),
    });
    expect(node?.id).toBe('node-version');
    expect(rest).toEqual([]);
  });

  it('reports a config file named by --config that does not exist', async () => {
    const [config] = await results({ configPath: join(dir, 'missing.yaml'), env: {} });
    expect(config).toMatchObject({ status: 'fail', message: expect.stringContaining('missing.yaml') });
  });

  it('names the config file it read, then checks what the config calls for', async () => {
    await mkdir(join(dir, 'configs'));
    await writeFile(join(dir, 'configs', 'system.yaml'), 'cloud_llm:\n  enabled: false\n');
    const plan = await planDoctor({ cwd: dir, env: {} });
    expect(plan.checks.map((c) => c.id)).toEqual([
      'config',
      'node-version',
      'os-sandbox',
      'ollama-reachable',
      'model-pulled:qwen2.5-coder:7b',
      'model-capabilities:qwen2.5-coder:7b',
      'memory',
      'store-models',
    ]);
    expect(await plan.checks[0]?.run()).toEqual({ status: 'ok', message: join('configs', 'system.yaml') });
  });

  it('checks the OS sandbox in the mode the tools: section asks for', async () => {
    await mkdir(join(dir, 'configs'));
    await writeFile(join(dir, 'configs', 'system.yaml'), 'tools:\n  sandbox: none\n');
    const plan = await planDoctor({ cwd: dir, env: {} });
    const sandbox = plan.checks.find((c) => c.id === 'os-sandbox');
    expect((await sandbox?.run())?.status).toBe('warn');
  });

  it('says when it runs on the built-in defaults', async () => {
    const plan = await planDoctor({ cwd: dir, env: {} });
    expect((await plan.checks[0]?.run())?.message).toContain('built-in defaults');
    expect(plan.checks.map((c) => c.id)).toContain('cloud-key');
  });
});
