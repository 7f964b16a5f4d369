import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildGguf } from '../__tests__/gguf-fixture';
import { ModelStoreError } from './model-store-error';
import { findDefaultStoreModel, listModels, removeModel, resolveStoreModel } from './store';
import { defaultModelStoreDir } from './store-dir';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const gguf = (architecture: string, contextLength: number) =>
  buildGguf({
    metadata: { 'general.architecture': architecture, [`${architecture}.context_length`]: { u32: contextLength } },
    tensors: [[32, 32]],
  });

describe('listModels', () => {
  it('lists each GGUF with its size and header facts, skipping unfinished downloads', async () => {
    await writeFile(join(dir, 'qwen.gguf'), gguf('qwen2', 32768));
    await writeFile(join(dir, 'alpha.gguf'), gguf('llama', 2048));
    await writeFile(join(dir, 'next.gguf.part'), Buffer.from('GGUF'));
    await writeFile(join(dir, 'notes.txt'), 'x');
    const models = await listModels(dir);
    expect(models.map((m) => m.name)).toEqual(['alpha', 'qwen']);
    expect(models[1]).toMatchObject({
      path: join(dir, 'qwen.gguf'),
      bytes: gguf('qwen2', 32768).length,
      gguf: { architecture: 'qwen2', contextLength: 32768, parameterCount: 1024, quantization: 'F16' },
    });
  });

  it('lists a damaged file with the reason instead of failing the whole listing', async () => {
    await writeFile(join(dir, 'good.gguf'), gguf('llama', 2048));
    await writeFile(join(dir, 'broken.gguf'), gguf('llama', 2048).subarray(0, 30));
    const [broken, good] = await listModels(dir);
    expect(broken?.gguf).toBeUndefined();
    expect(broken?.error).toContain('corrupt GGUF header');
    expect(good?.gguf?.architecture).toBe('llama');
  });

  it('returns an empty list for a store folder that does not exist yet', async () => {
    expect(await listModels(join(dir, 'missing'))).toEqual([]);
  });
});

describe('removeModel', () => {
  it('removes a model by name, with its unfinished download', async () => {
    await writeFile(join(dir, 'tiny.gguf'), gguf('llama', 512));
    await writeFile(join(dir, 'tiny.gguf.part'), 'partial');
    await writeFile(join(dir, 'other.gguf'), gguf('llama', 512));
    expect(await removeModel('tiny', dir)).toBe(join(dir, 'tiny.gguf'));
    expect(await readdir(dir)).toEqual(['other.gguf']);
  });

  it('names the models the store holds when the one to remove is not there', async () => {
    await writeFile(join(dir, 'other.gguf'), gguf('llama', 512));
    const error = await removeModel('tiny.gguf', dir).catch((e: unknown) => e);
    expect(ModelStoreError.isInstance(error) && error.code).toBe('MODEL_NOT_FOUND');
    expect((error as Error).message).toContain(`no model "tiny" in ${dir}`);
    expect((error as { fix?: string }).fix).toContain('the store holds: other');
  });
});

describe('resolveStoreModel', () => {
  it('maps a bare name, with or without .gguf, into the store', () => {
    expect(resolveStoreModel('stories260K', dir)).toBe(join(dir, 'stories260K.gguf'));
    expect(resolveStoreModel('stories260K.gguf', dir)).toBe(join(dir, 'stories260K.gguf'));
  });

  it('keeps paths as paths', () => {
    expect(resolveStoreModel('/opt/models/m.gguf', dir)).toBe('/opt/models/m.gguf');
    expect(resolveStoreModel('models/m.gguf', dir)).toBe(resolve('models/m.gguf'));
    expect(resolveStoreModel('~/m.gguf', dir)).toBe(join(homedir(), 'm.gguf'));
  });

  it('defaults the store to ~/.unity/models', () => {
    expect(defaultModelStoreDir('/home/ada')).toBe('/home/ada/.unity/models');
  });
});

describe('findDefaultStoreModel', () => {
  it('picks the most recently pulled readable model', async () => {
    await writeFile(join(dir, 'old.gguf'), gguf('llama', 512));
    await writeFile(join(dir, 'new.gguf'), gguf('llama', 512));
    await writeFile(join(dir, 'newest-but-broken.gguf'), 'not a model');
    await utimes(join(dir, 'old.gguf'), new Date(2020, 1, 1), new Date(2020, 1, 1));
    expect((await findDefaultStoreModel(dir))?.name).toBe('new');
  });

  it('returns undefined for an empty store', async () => {
    expect(await findDefaultStoreModel(dir)).toBeUndefined();
  });
});
