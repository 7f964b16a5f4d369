import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnityError } from '@unity/core';
import { FakeOllama, FakeOpenAI } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessConfig } from './__tests__/test-harness';
import { startServer } from './start-server';

let cloud: FakeOpenAI;
let local: FakeOllama;
let dir: string;
beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-required-models-'));
});
afterAll(async () => {
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});

async function configWith(diagnostics: string): Promise<string> {
  const path = join(dir, `system-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, `${harnessConfig(cloud, local)}diagnostics:\n${diagnostics}\n`);
  return path;
}

describe('startServer and diagnostics.require_models', () => {
  it('starts and reports a missing required model, with the pull command', async () => {
    const configPath = await configWith('  require_models: ["qwen2.5-coder:7b", "llama3.3:70b"]');
    const server = await startServer({ configPath, port: 0, env: {} });
    try {
      expect(server.missingRequiredModels.map((p) => p.fix)).toEqual(['`ollama pull llama3.3:70b`']);
    } finally {
      await server.shutdown({ drainTimeoutMs: 100 });
    }
  });

  it('refuses to start with diagnostics.enforce when one is missing', async () => {
    const configPath = await configWith('  require_models: ["llama3.3:70b"]\n  enforce: true');
    const error = await startServer({ configPath, port: 0, env: {} }).catch((e: unknown) => e);
    expect(UnityError.isInstance(error) && error.code).toBe('REQUIRED_MODELS_MISSING');
  });
});
