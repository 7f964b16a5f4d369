import { FakeOllama, FakeOpenAI, freePort } from '@unity/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { startRawServer } from './__tests__/test-helpers';
import { runChecks } from './check';
import { modelCapabilitiesCheck, modelPulledCheck, ollamaReachableCheck } from './ollama-checks';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function ollama(options: Parameters<typeof FakeOllama.start>[0] = {}): Promise<FakeOllama> {
  const fake = await FakeOllama.start(options);
  closers.push(() => fake.close());
  return fake;
}

describe('ollamaReachableCheck', () => {
  it('is ok with the version when Ollama answers', async () => {
    const fake = await ollama();
    const outcome = await ollamaReachableCheck({ host: fake.host }).run();
    expect(outcome).toEqual({ status: 'ok', message: `Ollama 0.12.6 at ${fake.host}` });
  });

  it('fails when the connection is refused, with `ollama serve` as the fix', async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    const outcome = await ollamaReachableCheck({ host, platform: 'linux' }).run();
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toMatch(new RegExp(`^Ollama is not reachable at ${host}: .*ECONNREFUSED`));
    expect(outcome.fix).toContain('`ollama serve`');
    expect(outcome.fix).not.toContain('brew');
  });

  it('names `brew services start ollama` on macOS', async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    expect((await ollamaReachableCheck({ host, platform: 'darwin' }).run()).fix).toContain(
      '`brew services start ollama`',
    );
  });

  it('fails after its timeout when the server does not answer, naming the option', async () => {
    const silent = await startRawServer(() => {});
    closers.push(silent.close);
    const outcome = await ollamaReachableCheck({ host: silent.origin, timeoutMs: 100 }).run();
    expect(outcome).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('no answer within 100 ms (timeoutMs)'),
    });
  });

  it('asks whether the host is an Ollama server when it answers something else', async () => {
    const openai = await FakeOpenAI.start();
    closers.push(() => openai.close());
    const outcome = await ollamaReachableCheck({ host: openai.origin }).run();
    expect(outcome.message).toContain('HTTP 404');
    expect(outcome.message).toContain('is it an Ollama server?');
  });

  it('says which provider it decides', () => {
    expect(ollamaReachableCheck({ host: 'http://x' }).provider).toBe('ollama');
  });
});

describe('modelPulledCheck', () => {
  it('is ok with the size when the model is pulled', async () => {
    const fake = await ollama();
    const outcome = await modelPulledCheck({ host: fake.host, model: 'qwen2.5-coder:7b' }).run();
    expect(outcome).toMatchObject({ status: 'ok', message: 'qwen2.5-coder:7b is pulled (4.7 GB, Q4_K_M)' });
  });

  it('fails when the model is missing, listing what is pulled, with `ollama pull` as the fix', async () => {
    const fake = await ollama({ models: [{ name: 'llama3.2:1b' }] });
    const outcome = await modelPulledCheck({ host: fake.host, model: 'qwen2.5-coder:7b' }).run();
    expect(outcome).toEqual({
      status: 'fail',
      message: 'qwen2.5-coder:7b is not pulled (pulled: llama3.2:1b)',
      fix: '`ollama pull qwen2.5-coder:7b`',
    });
  });

  it('matches an untagged name to its :latest tag', async () => {
    const fake = await ollama({ models: [{ name: 'mistral' }] });
    expect((await modelPulledCheck({ host: fake.host, model: 'mistral' }).run()).status).toBe('ok');
  });

  it('is skipped when Ollama is down', async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    const results = await runChecks([ollamaReachableCheck({ host }), modelPulledCheck({ host, model: 'm:1' })]);
    expect(results[1]).toMatchObject({ status: 'skip', message: 'not checked: Ollama reachable failed' });
  });

  it('fails on a model list that is not JSON', async () => {
    const broken = await startRawServer((_req, res) => res.end('<html>'));
    closers.push(broken.close);
    const outcome = await modelPulledCheck({ host: broken.origin, model: 'm:1' }).run();
    expect(outcome).toMatchObject({ status: 'fail', message: expect.stringContaining('not JSON') });
  });
});

describe('modelCapabilitiesCheck', () => {
  it('is ok with tools and reports the real context length', async () => {
    const fake = await ollama();
    const outcome = await modelCapabilitiesCheck({
      host: fake.host,
      model: 'qwen2.5-coder:7b',
      needsTools: true,
    }).run();
    expect(outcome).toMatchObject({
      status: 'ok',
      message: 'supports tools; context 32,768 tokens',
      data: { contextLength: 32768, tools: true },
    });
  });

  it('fails when the config uses tools and the model lacks the capability', async () => {
    const fake = await ollama({ models: [{ name: 'gemma:2b', capabilities: ['completion'] }] });
    const outcome = await modelCapabilitiesCheck({ host: fake.host, model: 'gemma:2b', needsTools: true }).run();
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toBe(
      'gemma:2b does not support tools (capabilities: completion), and the config uses tools',
    );
    expect(outcome.fix).toContain('ollama pull qwen2.5-coder:7b');
  });

  it('accepts a model without tools when tools are not used', async () => {
    const fake = await ollama({ models: [{ name: 'gemma:2b', capabilities: ['completion'] }] });
    const outcome = await modelCapabilitiesCheck({ host: fake.host, model: 'gemma:2b', needsTools: false }).run();
    expect(outcome).toMatchObject({ status: 'ok', message: 'no tools (not needed); context 32,768 tokens' });
  });

  it('warns about a context window below the minimum', async () => {
    const fake = await ollama({ models: [{ name: 'tiny:1b', contextLength: 2048 }] });
    const outcome = await modelCapabilitiesCheck({ host: fake.host, model: 'tiny:1b', needsTools: true }).run();
    expect(outcome).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('context 2,048 tokens, below the 8,192'),
    });
  });

  it('warns when an old Ollama does not report capabilities', async () => {
    const old = await startRawServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ model_info: { 'llama.context_length': 8192 } }));
    });
    closers.push(old.close);
    const outcome = await modelCapabilitiesCheck({ host: old.origin, model: 'm:1', needsTools: true }).run();
    expect(outcome).toMatchObject({ status: 'warn', fix: expect.stringContaining('upgrade Ollama') });
  });
});
