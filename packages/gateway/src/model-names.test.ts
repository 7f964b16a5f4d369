import { ConfigError, parseConfig } from '@unity/llm-router';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { catalogFromConfig, serverConfigSchema } from './server-config';

let h: Harness;
let openai: OpenAI;
let ollama: Ollama;

beforeAll(async () => {
  h = await startHarness({
    extraYaml: [
      '  model_aliases:',
      '    gpt-4o-mini: unity',
      '    claude-sonnet-4: coding',
      '    fast: ollama_chat/llama3.2:1b',
      '  serve_models:',
      '    - minimax/*',
      '    - ollama_chat/llama3*',
      '',
    ].join('\n'),
    ollama: {
      models: [
        { name: 'qwen2.5-coder:7b' },
        { name: 'llama3.2:1b', family: 'llama', capabilities: ['completion'], size: 1_321_098_329 },
        { name: 'llama3.1:8b', family: 'llama', capabilities: ['completion', 'tools'] },
      ],
    },
  });
  openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
  ollama = new Ollama({ host: h.url });
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

const ask = [{ role: 'user' as const, content: 'hi' }];

describe('model aliases (server.model_aliases)', () => {
  it('serves an app’s hard-coded name through the served name it stands for', async () => {
    h.cloud.enqueue({ text: 'from the default chain' });
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: ask })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('from the default chain');
    expect(data.model).toBe('gpt-4o-mini');
    expect(response.headers.get('x-unity-model')).toBe('openai/MiniMax-M2');
  });

  it('serves an alias of a model string from that model', async () => {
    const { response } = await openai.chat.completions.create({ model: 'fast', messages: ask }).withResponse();
    expect(response.headers.get('x-unity-model')).toBe('ollama_chat/llama3.2:1b');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('lists aliases in /v1/models and /api/tags, and describes them in /api/show', async () => {
    const ids = (await openai.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'claude-sonnet-4', 'fast']));
    const tags = await ollama.list();
    const fast = tags.models.find((m) => m.name === 'fast');
    expect(fast?.details.family).toBe('llama');
    expect(fast?.size).toBe(1_321_098_329);
    const show = await ollama.show({ model: 'claude-sonnet-4' });
    expect(show.details.parent_model).toBe('coding');
  });
});

describe('model strings served by pattern (server.serve_models)', () => {
  it('serves any model of a configured provider by its model string', async () => {
    h.cloud.enqueue({ text: 'minimax answered' });
    // The cloud here is `openai` (the fake); minimax/* is allowed, and its key is not set: the attempt is skipped
    // with its fix, and the request falls back to the local chain.
    const { response } = await openai.chat.completions
      .create({ model: 'minimax/MiniMax-M2', messages: ask })
      .withResponse();
    expect(response.headers.get('x-unity-attempts')).toMatch(/^minimax\/MiniMax-M2 AUTH_FAILED, /);
  });

  it('serves an Ollama model matching the pattern, by model string and by its bare name', async () => {
    const { response } = await openai.chat.completions
      .create({ model: 'ollama_chat/llama3.1:8b', messages: ask })
      .withResponse();
    expect(response.headers.get('x-unity-model')).toBe('ollama_chat/llama3.1:8b');
    const r = await ollama.chat({ model: 'llama3.1:8b', messages: ask, stream: false });
    expect(r.model).toBe('llama3.1:8b');
    expect(h.local.requestsTo('/api/chat').map((q) => (q.body as { model: string }).model)).toEqual([
      'llama3.1:8b',
      'llama3.1:8b',
    ]);
  });

  it('lists the Ollama models a pattern serves in /v1/models and /api/tags', async () => {
    const ids = (await openai.models.list()).data.map((m) => m.id);
    expect(ids).toContain('ollama_chat/llama3.1:8b');
    expect(ids).not.toContain('ollama_chat/qwen2.5-coder:7b:latest');
    const names = (await ollama.list()).models.map((m) => m.name);
    expect(names).toContain('ollama_chat/llama3.1:8b');
  });

  it('keeps an unknown name a 404 that lists what is served, patterns included', async () => {
    const error = await openai.chat.completions.create({ model: 'mistral:7b', messages: ask }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.message).toContain('model "mistral:7b" is not served here; known models: unity, local');
    expect(error.message).toContain('gpt-4o-mini');
    expect(error.message).toContain('also served: model strings matching minimax/*, ollama_chat/llama3*');
    expect(error.message).toContain('server.model_aliases');
    expect(h.local.requestsTo('/api/chat')).toHaveLength(0);
  });
});

describe('the server section’s model names, validated', () => {
  const sections = { server: serverConfigSchema };
  const problem = (yaml: string) => {
    try {
      parseConfig(yaml, 'configs/system.yaml', sections);
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error('the config was accepted');
  };

  it('names the file, line and alias of a target that is neither a served name nor a model string', () => {
    expect(problem('server:\n  model_aliases:\n    gpt-4o: gpt4-turbo/x\n')).toMatch(
      /^configs\/system.yaml:3: server.model_aliases.gpt-4o: "gpt4-turbo\/x" is neither a served name/,
    );
  });

  it('refuses an alias that would hide a served name', () => {
    expect(problem('server:\n  model_aliases:\n    unity: coding\n')).toMatch(
      /configs\/system.yaml:3: server.model_aliases.unity: "unity" is already a served name/,
    );
  });

  it('names the file, line and entry of a pattern without a known provider', () => {
    expect(problem('server:\n  serve_models:\n    - minimax/*\n    - anthropic/*\n')).toMatch(
      /^configs\/system.yaml:4: server.serve_models.1: expected <provider>\/<model or pattern> with a provider of minimax, openai/,
    );
  });

  it('builds aliases into the catalog, with the chain each name is served by', () => {
    const config = parseConfig(
      'server:\n  model_aliases:\n    gpt-4o-mini: unity\n    tiny: llamacpp/stories260K\n',
      'x',
      sections,
    );
    const catalog = catalogFromConfig(config, config.server.model_aliases);
    expect(catalog.find((m) => m.id === 'gpt-4o-mini')).toMatchObject({
      route: {},
      aliasOf: 'unity',
      chain: ['minimax/MiniMax-M2', 'ollama_chat/qwen2.5-coder:7b'],
    });
    expect(catalog.find((m) => m.id === 'tiny')).toMatchObject({
      route: { model: 'llamacpp/stories260K' },
      local: true,
      chain: ['llamacpp/stories260K', 'ollama_chat/qwen2.5-coder:7b'],
    });
    expect(catalog.find((m) => m.id === 'local')?.chain).toEqual(['ollama_chat/qwen2.5-coder:7b']);
  });
});
