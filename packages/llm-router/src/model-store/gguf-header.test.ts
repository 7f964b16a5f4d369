import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGguf } from '../__tests__/gguf-fixture';
import { isGgufFile, readGgufHeader, summarizeGguf } from './gguf-header';
import { ModelStoreError } from './model-store-error';

const model = sharedModelPath();
if (!model) console.warn('skipping the shared-model GGUF tests: ../shared/models/stories260K.gguf is absent');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<ModelStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ModelStoreError.isInstance(error)) throw new Error(`expected a ModelStoreError, got ${String(error)}`);
  return error;
}

const llamaMetadata = {
  'general.architecture': 'llama',
  'general.name': 'tiny',
  'general.file_type': { u32: 15 },
  'llama.context_length': { u32: 4096 },
  'tokenizer.chat_template': '{{ messages }}',
  'tokenizer.ggml.tokens': Array.from({ length: 100 }, (_, i) => `tok${i}`),
};

describe('readGgufHeader', () => {
  it.skipIf(!model)('reads the shared model: llama, 2048 context, 292,800 F32 parameters', async () => {
    const header = await readGgufHeader(model as string);
    expect(header.version).toBe(3);
    expect(header.tensorCount).toBe(48);
    expect(summarizeGguf(header, model as string)).toEqual({
      architecture: 'llama',
      name: 'llama',
      contextLength: 2048,
      parameterCount: 292_800,
      quantization: 'F32',
      hasChatTemplate: false,
    });
  });

  it('reads typed metadata and counts parameters from the tensor infos', async () => {
    const path = await file('tiny.gguf', buildGguf({ metadata: llamaMetadata, tensors: [[4, 8], [16]] }));
    const header = await readGgufHeader(path);
    expect(header.metadata['llama.context_length']).toBe(4096);
    expect(header.parameterCount).toBe(48);
    expect(summarizeGguf(header, path)).toMatchObject({
      architecture: 'llama',
      contextLength: 4096,
      quantization: 'Q4_K_M',
      hasChatTemplate: true,
    });
  });

  it('keeps only the length of an array longer than maxArrayItems', async () => {
    const path = await file('arrays.gguf', buildGguf({ metadata: llamaMetadata }));
    const header = await readGgufHeader(path, { maxArrayItems: 10 });
    expect(header.metadata['tokenizer.ggml.tokens']).toEqual({ arrayType: 8, length: 100 });
    const full = await readGgufHeader(path, { maxArrayItems: 1000 });
    expect((full.metadata['tokenizer.ggml.tokens'] as string[])[99]).toBe('tok99');
  });

  it('reads a GGUF v2 file', async () => {
    const path = await file('v2.gguf', buildGguf({ version: 2, metadata: { 'general.architecture': 'gpt2' } }));
    expect((await readGgufHeader(path)).version).toBe(2);
  });

  it('rejects a file without the GGUF magic as NOT_GGUF, naming its first bytes', async () => {
    const path = await file('weights.bin', Buffer.from('PK\u0003\u0004 a zip file, not a model'));
    const error = await failure(readGgufHeader(path));
    expect(error.code).toBe('NOT_GGUF');
    expect(error.message).toContain(`${path} is not a GGUF model file`);
    expect(error.message).toContain('0x04034b50');
    expect(await isGgufFile(path)).toBe(false);
  });

  it('rejects an empty file as NOT_GGUF', async () => {
    const error = await failure(readGgufHeader(await file('empty.gguf', Buffer.alloc(0))));
    expect(error.code).toBe('NOT_GGUF');
  });

  it('rejects GGUF v1 as unsupported', async () => {
    const path = await file('v1.gguf', buildGguf({ version: 1, metadata: {} }));
    const error = await failure(readGgufHeader(path));
    expect(error.code).toBe('CORRUPT_GGUF');
    expect(error.message).toContain('GGUF version 1 is not supported');
  });

  it('reports a truncated header as CORRUPT_GGUF with the byte where it ends', async () => {
    const whole = buildGguf({ metadata: llamaMetadata, tensors: [[4, 8]] });
    const path = await file('cut.gguf', whole.subarray(0, 60));
    const error = await failure(readGgufHeader(path));
    expect(error.code).toBe('CORRUPT_GGUF');
    expect(error.message).toMatch(/file ends while reading .* \(at byte \d+ of 60\)/);
  });

  it('refuses an absurd string length instead of allocating it', async () => {
    const bytes = buildGguf({ metadata: { 'general.architecture': 'llama' } });
    bytes.writeBigUInt64LE(2n ** 60n, 24); // the length of the first key
    const error = await failure(readGgufHeader(await file('huge.gguf', bytes)));
    expect(error.code).toBe('CORRUPT_GGUF');
    expect(error.message).toContain('length of key of metadata entry 0');
  });

  it('rejects an unknown value type', async () => {
    const bytes = buildGguf({ metadata: { 'general.architecture': 'llama' } });
    bytes.writeUInt32LE(99, 24 + 8 + 'general.architecture'.length);
    const error = await failure(readGgufHeader(await file('type.gguf', bytes)));
    expect(error.message).toContain('unknown value type 99 for value of general.architecture');
  });

  it('summarizeGguf refuses a header without general.architecture', async () => {
    const path = await file('noarch.gguf', buildGguf({ metadata: { 'general.name': 'x' } }));
    const header = await readGgufHeader(path);
    expect(() => summarizeGguf(header, path)).toThrow('GGUF header has no general.architecture');
  });
});
