import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosineSimilarity, sharedModelPath } from '@unity/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { createEmbedder } from '../embeddings';
import { createLlamaCppEmbeddingProvider } from './llamacpp-embeddings';

const modelPath = sharedModelPath();
if (!modelPath)
  console.warn('skipping the embedded engine’s embedding tests: ../shared/models/stories260K.gguf is absent');

describe.skipIf(!modelPath)('llamacpp embeddings with the shared model', () => {
  const provider = createLlamaCppEmbeddingProvider({ modelPath: modelPath ?? '', threads: 1, contextSize: 64 });
  afterAll(() => provider.close?.());
  const embed = (input: string[]) =>
    provider.embed({ model: modelPath ?? '', input, signal: new AbortController().signal });

  it('gives one unit vector per input, of the model’s width, equal for equal texts', async () => {
    const r = await embed(['Once upon a time', 'The dog ran to the park', 'Once upon a time']);
    expect(r.embeddings.map((v) => v.length)).toEqual([64, 64, 64]);
    expect(Math.hypot(...(r.embeddings[0] ?? []))).toBeCloseTo(1, 5);
    expect(cosineSimilarity(r.embeddings[0] ?? [], r.embeddings[2] ?? [])).toBeCloseTo(1, 6);
    expect(cosineSimilarity(r.embeddings[0] ?? [], r.embeddings[1] ?? [])).toBeLessThan(0.99);
    expect(r.inputTokens).toBeGreaterThan(6);
  });

  it('refuses an input longer than its context instead of cutting it', async () => {
    await expect(embed(['short', 'word '.repeat(100)])).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringContaining('input[1] is'),
    });
  });

  it('serves models.embedding: llamacpp/<file> through the embedder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unity-embed-'));
    const embedder = createEmbedder({
      config: parseConfig(`models:\n  embedding: llamacpp/${modelPath}\nllamacpp:\n  threads: 1\n  context_size: 64\n`),
      env: {},
      cwd: dir,
    });
    try {
      const r = await embedder.embed({ input: 'Once upon a time', localOnly: true });
      expect(r).toMatchObject({ provider: 'llamacpp', model: `llamacpp/${modelPath}` });
      expect(r.embeddings[0]).toHaveLength(64);
    } finally {
      await embedder.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('llamacpp embeddings without the model file', () => {
  it('fails with MODEL_NOT_FOUND and the pull command', async () => {
    const provider = createLlamaCppEmbeddingProvider({ modelPath: '/nonexistent/model.gguf' });
    await expect(
      provider.embed({ model: 'x', input: ['a'], signal: new AbortController().signal }),
    ).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', fix: expect.stringContaining('unity models pull') });
  });
});
