import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import { describeError } from '@unity/core';
import { type GgufSummary, readGgufHeader, summarizeGguf } from './gguf-header';
import { ModelStoreError } from './model-store-error';
import { defaultModelStoreDir } from './store-dir';

/** One model file in the store. */
export interface StoredModel {
  /** The file name without `.gguf`: what `llamacpp/<name>` and `unity models rm <name>` take. */
  name: string;
  path: string;
  bytes: number;
  modifiedAt: Date;
  /** From the GGUF header; absent when the header could not be read (see `error`). */
  gguf?: GgufSummary;
  /** Why the header could not be read (a damaged file), so one bad file does not hide the others. */
  error?: string;
}

const modelName = (file: string) => file.replace(/\.gguf$/i, '');

/** The models in `dir` (`*.gguf`; unfinished `.part` downloads are left out), by name, with their GGUF facts. */
export async function listModels(dir: string): Promise<StoredModel[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const models = await Promise.all(
    files
      .filter((f) => f.toLowerCase().endsWith('.gguf'))
      .map(async (file): Promise<StoredModel> => {
        const path = join(dir, file);
        const info = await stat(path);
        const model: StoredModel = { name: modelName(file), path, bytes: info.size, modifiedAt: info.mtime };
        try {
          return { ...model, gguf: summarizeGguf(await readGgufHeader(path), path) };
        } catch (error) {
          return { ...model, error: describeError(error) };
        }
      }),
  );
  return models.sort((a, b) => a.name.localeCompare(b.name));
}

/** Remove the model `name` (with or without `.gguf`) and any unfinished download of it. Returns the removed path. */
export async function removeModel(name: string, dir: string): Promise<string> {
  const file = `${modelName(basename(name))}.gguf`;
  const path = join(dir, file);
  try {
    await stat(path);
  } catch {
    const known = (await listModels(dir)).map((m) => m.name);
    throw new ModelStoreError({
      code: 'MODEL_NOT_FOUND',
      message: `no model "${modelName(name)}" in ${dir}`,
      fix: known.length > 0 ? `the store holds: ${known.join(', ')}` : 'the store is empty (unity models list)',
    });
  }
  await rm(path);
  await rm(`${path}.part`, { force: true });
  return path;
}

/**
 * The GGUF file a `llamacpp/<model>` string names: a path (absolute, `~/…`, `./…`, or containing a separator) resolves
 * as a path; a bare name (`stories260K` or `stories260K.gguf`) is `<storeDir>/<name>.gguf`, unless a `.gguf` file of
 * that name exists in the working directory. The file need not exist: the provider reports a missing one with the fix.
 */
export function resolveStoreModel(nameOrPath: string, storeDir: string = defaultModelStoreDir()): string {
  if (nameOrPath.startsWith('~/')) return join(homedir(), nameOrPath.slice(2));
  if (isAbsolute(nameOrPath) || nameOrPath.includes('/') || nameOrPath.includes(sep) || nameOrPath.startsWith('.')) {
    return resolve(nameOrPath);
  }
  if (nameOrPath.toLowerCase().endsWith('.gguf') && existsSync(nameOrPath)) return resolve(nameOrPath);
  return join(storeDir, `${modelName(nameOrPath)}.gguf`);
}

/**
 * The model to use when nothing else is configured: the most recently pulled readable GGUF in `dir`, or undefined
 * when the store is empty.
 */
export async function findDefaultStoreModel(dir: string): Promise<StoredModel | undefined> {
  const models = (await listModels(dir)).filter((m) => m.gguf);
  return models.sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime())[0];
}
