import { FakeOllama } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCheck } from './memory-check';

const GB = 1e9;
let fake: FakeOllama;
beforeAll(async () => {
  fake = await FakeOllama.start({
    models: [{ name: 'qwen2.5-coder:7b' }, { name: 'llama3.2:1b', size: 1.3 * GB }],
  });
});
afterAll(async () => {
  await fake.close();
});

const memory = (freeGB: number, totalGB: number) => () => ({ freeBytes: freeGB * GB, totalBytes: totalGB * GB });
const models = ['qwen2.5-coder:7b', 'llama3.2:1b'];

describe('memoryCheck', () => {
  it('sizes the largest model in use at ~8 GB for qwen2.5-coder:7b, as the seed says', async () => {
    const outcome = await memoryCheck({ host: fake.host, models, readMemory: memory(12, 16) }).run();
    expect(outcome).toMatchObject({ status: 'ok', message: 'qwen2.5-coder:7b needs ~8.0 GB of RAM; 12.0 GB free' });
  });

  it('warns when too little is free, naming htop and the cloud with the config file', async () => {
    const outcome = await memoryCheck({
      host: fake.host,
      models,
      readMemory: memory(3, 16),
      configFile: 'configs/system.yaml',
    }).run();
    expect(outcome.status).toBe('warn');
    expect(outcome.message).toBe('qwen2.5-coder:7b needs ~8.0 GB of RAM; only 3.0 GB of 16.0 GB is free');
    expect(outcome.fix).toContain('htop');
    expect(outcome.fix).toContain('cloud_llm.enabled: true in configs/system.yaml');
  });

  it('fails when the machine has less RAM than the model needs', async () => {
    const outcome = await memoryCheck({ host: fake.host, models, readMemory: memory(3, 4) }).run();
    expect(outcome).toMatchObject({ status: 'fail', fix: expect.stringContaining('smaller model') });
  });

  it('sizes only the models in use', async () => {
    const outcome = await memoryCheck({ host: fake.host, models: ['llama3.2:1b'], readMemory: memory(3, 4) }).run();
    expect(outcome).toMatchObject({ status: 'ok', data: { model: 'llama3.2:1b' } });
  });

  it('is ok when the model is loaded already', async () => {
    const loadedFake = await FakeOllama.start();
    try {
      await fetch(`${loadedFake.host}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hi' }], stream: false }),
      });
      const outcome = await memoryCheck({ host: loadedFake.host, models, readMemory: memory(1, 16) }).run();
      expect(outcome).toMatchObject({ status: 'ok', message: 'qwen2.5-coder:7b is loaded already; 1.0 GB free' });
    } finally {
      await loadedFake.close();
    }
  });

  it('skips itself when no model in use is pulled', async () => {
    const outcome = await memoryCheck({ host: fake.host, models: ['mistral:7b'], readMemory: memory(1, 2) }).run();
    expect(outcome.status).toBe('skip');
  });
});
