import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ChainBuilder } from './chain';
import { parseConfig } from './config';
import { RouterError } from './errors';
import type { Provider } from './provider';
import { ProviderFactory } from './provider-factory';

function provider(id: string, remote: boolean): Provider {
  return {
    id,
    kind: remote ? 'openai-compatible' : 'ollama',
    remote,
    chat: () => Promise.reject(new Error('not called')),
    stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('not called')) }) }),
  };
}

function builder(settings: Record<string, unknown>, env: Record<string, string> = { MINIMAX_API_KEY: 'k' }) {
  const config = parseConfig(
    stringify({
      models: {
        reasoning: 'ollama_chat/qwen2.5-coder:7b',
        coding: 'ollama_chat/coder:1b',
        fallback: 'ollama_chat/tiny:1b',
      },
      router: { last_resort: 'none' },
      ...settings,
    }),
    'chain.yaml',
  );
  const factory = new ProviderFactory({
    config,
    env,
    providers: { minimax: provider('minimax', true), ollama: provider('ollama', false) },
  });
  return new ChainBuilder(config, factory);
}

const names = (links: { modelString: string }[]) => links.map((l) => l.modelString);

describe('ChainBuilder', () => {
  it('orders the cloud model, the role model and the fallback', async () => {
    const chain = await builder({}).chain(undefined, 'coding', false);
    expect(names(chain)).toEqual(['minimax/MiniMax-M2', 'ollama_chat/coder:1b', 'ollama_chat/tiny:1b']);
    expect(chain.map((l) => l.remote)).toEqual([true, false, false]);
  });

  it('puts the request model first and drops duplicates', async () => {
    const chain = await builder({}).chain('ollama_chat/tiny:1b', 'reasoning', false);
    expect(names(chain)).toEqual(['ollama_chat/tiny:1b', 'ollama_chat/qwen2.5-coder:7b']);
  });

  it('has only the cloud model when it may not fall back to local ones', async () => {
    const chain = await builder({ cloud_llm: { fallback_to_local: false } }).chain(undefined, 'reasoning', false);
    expect(names(chain)).toEqual(['minimax/MiniMax-M2']);
  });

  it('withholds remote models from a local-only request', async () => {
    const chain = await builder({}).chain(undefined, 'reasoning', true);
    expect(names(chain)).toEqual(['ollama_chat/qwen2.5-coder:7b', 'ollama_chat/tiny:1b']);
  });

  it('refuses with NO_PROVIDER and a fix when local-only leaves no model', async () => {
    const error = await builder({ cloud_llm: { fallback_to_local: false } })
      .chain(undefined, 'reasoning', true)
      .catch((e: unknown) => e);
    expect(RouterError.isInstance(error) && error.code).toBe('NO_PROVIDER');
    expect((error as RouterError).message).toContain('local-only withholds minimax/MiniMax-M2');
    expect((error as RouterError).fix).toContain('models:');
  });

  it('keeps a model without its key in the chain as unavailable, with the fix', async () => {
    const config = parseConfig(stringify({ router: { last_resort: 'none' } }), 'chain.yaml');
    const chains = new ChainBuilder(config, new ProviderFactory({ config, env: {} }));
    const [cloud] = await chains.chain(undefined, 'reasoning', false);
    expect(cloud?.provider).toBeUndefined();
    expect(cloud?.unavailable?.fix).toContain('MINIMAX_API_KEY');
  });

  it('builds a chain once per model, role and local-only, and forgets a failed build', async () => {
    const chains = builder({ cloud_llm: { fallback_to_local: false } });
    expect(chains.chain(undefined, 'coding', false)).toBe(chains.chain(undefined, 'coding', false));
    expect(chains.chain(undefined, 'coding', false)).not.toBe(chains.chain(undefined, 'reasoning', false));
    const failed = chains.chain(undefined, 'coding', true);
    await failed.catch(() => undefined);
    expect(chains.chain(undefined, 'coding', true)).not.toBe(failed);
  });

  it('has no last resort when router.last_resort is none', async () => {
    const chains = builder({});
    expect(await chains.lastResort(await chains.chain(undefined, 'reasoning', false))).toBeUndefined();
  });
});
