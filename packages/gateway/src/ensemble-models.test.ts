import type { ChatRequestInfo, Step } from '@unity/test-kit';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { catalogFromConfig } from './server-config';

// `ensemble/<name>` served by the gateway: listed by /v1/models, answered by the router's ensemble runner, through
// the official openai client over real HTTP.
let h: Harness;
let client: OpenAI;

beforeAll(async () => {
  h = await startHarness({
    extraYaml: [
      'ensembles:',
      '  duo:',
      '    members: [openai/gpt-4o-mini, reasoning]',
      '    strategy: vote',
      '    extract: last_number',
      '  fast:',
      '    members: [openai/MiniMax-M2, ollama_chat/qwen2.5-coder:7b]',
      '    strategy: race',
      '',
    ].join('\n'),
  });
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 10_000 });
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

const ask = (content: string) => [{ role: 'user' as const, content }];
const byModel =
  (steps: Record<string, Step>) =>
  (request: ChatRequestInfo): Step =>
    steps[String(request.body.model)] ?? { text: `unscripted ${String(request.body.model)}` };

describe('ensembles through the gateway', () => {
  it('lists each ensemble in /v1/models as ensemble/<name>', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['ensemble/duo', 'ensemble/fast']));
    const fast = await client.models.retrieve('ensemble/fast');
    expect(fast).toMatchObject({ id: 'ensemble/fast', owned_by: 'unity' });
  });

  it('answers a chat completion for ensemble/<name> with the ensemble’s decision', async () => {
    h.cloud.setDefault(
      byModel({ 'gpt-4o-mini': { text: 'It is 42.', usage: { promptTokens: 5, completionTokens: 3 } } }),
    );
    h.local.setDefault(
      byModel({ 'qwen2.5-coder:7b': { text: 'Answer: 42', usage: { promptTokens: 5, completionTokens: 2 } } }),
    );
    const { data, response } = await client.chat.completions
      .create({ model: 'ensemble/duo', messages: ask('6 × 7?') })
      .withResponse();
    expect(data.model).toBe('ensemble/duo');
    expect(data.choices[0]?.message.content).toBe('It is 42.');
    // The tokens of both members.
    expect(data.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5 });
    expect(response.headers.get('x-unity-attempts')).toBe('openai/gpt-4o-mini ok, ollama_chat/qwen2.5-coder:7b ok');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(1);
    expect(h.local.requestsTo('/api/chat')).toHaveLength(1);
  });

  it('streams a race’s winner and cancels the slower member upstream', async () => {
    h.cloud.setDefault(byModel({ 'MiniMax-M2': { fault: 'slow-first-byte', ms: 10_000 } }));
    h.local.setDefault(byModel({ 'qwen2.5-coder:7b': { text: 'local wins the race' } }));
    const stream = await client.chat.completions.create({ model: 'ensemble/fast', messages: ask('?'), stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('local wins the race');
    await vi.waitFor(() => expect(h.cloud.requestsTo('/chat/completions')[0]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it('answers 404 for an ensemble the config does not define', async () => {
    const error = await client.chat.completions.create({ model: 'ensemble/none', messages: ask('?') }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('catalogFromConfig', () => {
  it('serves each ensemble with every model it may call as its chain, local when all of them are', () => {
    const catalog = catalogFromConfig({
      cloud_llm: { enabled: true, provider: 'minimax', model: 'MiniMax-M2' },
      models: {
        reasoning: 'ollama_chat/qwen2.5-coder:7b',
        coding: 'ollama_chat/llama3.2:1b',
        fallback: 'ollama_chat/llama3.2:1b',
      },
      ensembles: {
        mixed: { members: ['minimax/MiniMax-M2', 'coding'], judge: 'reasoning' },
        home: { members: ['reasoning', 'coding'] },
      },
    });
    expect(catalog.find((m) => m.id === 'ensemble/mixed')).toEqual({
      id: 'ensemble/mixed',
      route: { model: 'ensemble/mixed' },
      local: false,
      family: 'ensemble',
      chain: ['minimax/MiniMax-M2', 'ollama_chat/llama3.2:1b', 'ollama_chat/qwen2.5-coder:7b'],
    });
    expect(catalog.find((m) => m.id === 'ensemble/home')?.local).toBe(true);
  });
});
