import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedModelPath } from '@unity/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeModelsCheck } from './store-check';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-store-check-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const model = sharedModelPath();

describe('storeModelsCheck', () => {
  it('passes, naming the pull command, when the store holds no model (it is optional)', async () => {
    const check = storeModelsCheck({ dir: join(dir, 'missing') });
    expect(check.required).toBe(false);
    expect(await check.run()).toMatchObject({
      status: 'ok',
      message: expect.stringContaining('none in'),
      fix: expect.stringContaining('unity models pull'),
    });
  });

  it.skipIf(!model)('lists the models the embedded engine can run, with architecture and size', async () => {
    await copyFile(model as string, join(dir, 'stories260K.gguf'));
    const outcome = await storeModelsCheck({ dir }).run();
    expect(outcome.status).toBe('ok');
    expect(outcome.message).toMatch(/^stories260K \(llama, \d(\.\d)? MB\) in /);
    expect(outcome.message).toContain('run in-process when nothing configured answers');
  });

  it.skipIf(!model)('says the store model is not used as the last resort when the config turns it off', async () => {
    await copyFile(model as string, join(dir, 'stories260K.gguf'));
    const outcome = await storeModelsCheck({ dir, lastResort: false }).run();
    expect(outcome.status).toBe('ok');
    expect(outcome.message).toContain('not used as the last resort');
  });
});
