import { describe, expect, it } from 'vitest';
import { modelStoreDir } from './store-dir';

const home = '/home/ada';
const none = { llamacpp: {} };

describe('modelStoreDir', () => {
  it('takes llamacpp.store_dir before UNITY_MODELS_DIR', () => {
    const dir = modelStoreDir({ llamacpp: { store_dir: '/srv/models' } }, { env: { UNITY_MODELS_DIR: '/env' }, home });
    expect(dir).toBe('/srv/models');
  });

  it('takes UNITY_MODELS_DIR from the environment passed in when the config names no folder', () => {
    expect(modelStoreDir(none, { env: { UNITY_MODELS_DIR: '/env/models' }, home })).toBe('/env/models');
  });

  it('defaults to ~/.unity/models, ignoring an empty UNITY_MODELS_DIR', () => {
    expect(modelStoreDir(none, { env: { UNITY_MODELS_DIR: '' }, home })).toBe('/home/ada/.unity/models');
  });

  it('expands ~/ and resolves a relative folder against cwd', () => {
    expect(modelStoreDir({ llamacpp: { store_dir: '~/gguf' } }, { home })).toBe('/home/ada/gguf');
    expect(modelStoreDir({ llamacpp: { store_dir: 'models' } }, { home, cwd: '/work/app' })).toBe('/work/app/models');
  });
});
