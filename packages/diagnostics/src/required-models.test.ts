import { FakeOllama, freePort } from '@unity/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequiredModels } from './required-models';

const fakes: FakeOllama[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

const config = (host: string, require_models: string[]) => ({
  diagnostics: { require_models, enforce: false },
  ollama: { host, max_context: 32_768 },
});

describe('checkRequiredModels', () => {
  it('finds nothing wrong when every required model is pulled (bare and prefixed names alike)', async () => {
    const fake = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, { name: 'mistral:latest' }] });
    fakes.push(fake);
    const problems = await checkRequiredModels(config(fake.host, ['qwen2.5-coder:7b', 'ollama_chat/mistral']), {
      env: {},
    });
    expect(problems).toEqual([]);
  });

  it('names a missing model with the pull command as its fix', async () => {
    const fake = await FakeOllama.start({ models: [{ name: 'mistral:latest' }] });
    fakes.push(fake);
    const problems = await checkRequiredModels(config(fake.host, ['qwen2.5-coder:7b']), { env: {} });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.fix).toContain('ollama pull qwen2.5-coder:7b');
  });

  it('reports Ollama unreachable once, not once per model', async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    const problems = await checkRequiredModels(config(host, ['a:1', 'b:2']), { env: {} });
    expect(problems.map((p) => p.id)).toEqual(['ollama-reachable']);
    expect(problems[0]?.fix).toMatch(/ollama serve/);
  });

  it('checks nothing when no model is required', async () => {
    expect(await checkRequiredModels(config('http://127.0.0.1:1', []), { env: {} })).toEqual([]);
  });
});
