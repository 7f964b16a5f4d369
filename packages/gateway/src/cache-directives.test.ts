import { nomicEmbedModel } from '@unity/test-kit';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

const master = 'master-key-for-cache-tests';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The router's cache on, its semantic layer with a threshold low enough to match any question of the same scope. */
const cacheYaml = [
  '  cache:',
  '    enabled: true',
  '    semantic:',
  '      enabled: true',
  '      threshold: 0.2',
].join('\n');

async function start(server: Record<string, string> = {}) {
  h = await startHarness({
    routerYaml: cacheYaml,
    server,
    ollama: { models: [{ name: 'qwen2.5-coder:7b' }, nomicEmbedModel] },
  });
  return h;
}

const client = (apiKey = 'unused') => new OpenAI({ baseURL: `${h?.url}/v1`, apiKey, maxRetries: 0 });
const ask = (content: string) => ({
  model: 'unity',
  temperature: 0,
  messages: [{ role: 'user' as const, content }],
});
const upstreamChats = () => h?.cloud.requestsTo('/chat/completions').length ?? 0;
const contentOf = (c: OpenAI.Chat.Completions.ChatCompletion) => c.choices[0]?.message.content;

describe('Cache-Control on a chat request', () => {
  it('no-cache asks the model again and keeps the new answer; no-store neither reads nor keeps', async () => {
    await start();
    h?.cloud.enqueue({ text: 'first' }, { text: 'refreshed' }, { text: 'unkept' });
    const openai = client();
    expect(contentOf(await openai.chat.completions.create(ask('q')))).toBe('first');
    expect(contentOf(await openai.chat.completions.create(ask('q')))).toBe('first');
    const refreshed = await openai.chat.completions.create(ask('q'), { headers: { 'Cache-Control': 'no-cache' } });
    expect(contentOf(refreshed)).toBe('refreshed');
    expect(contentOf(await openai.chat.completions.create(ask('q')))).toBe('refreshed');
    const unkept = await openai.chat.completions.create(ask('q'), {
      headers: { 'Cache-Control': 'max-age=0, No-Store' },
    });
    expect(contentOf(unkept)).toBe('unkept');
    expect(contentOf(await openai.chat.completions.create(ask('q')))).toBe('refreshed');
    expect(upstreamChats()).toBe(3);
  });

  it('counts lookups per layer on /metrics', async () => {
    await start();
    const openai = client();
    await openai.chat.completions.create(ask('What is the capital of France?'));
    await openai.chat.completions.create(ask('What is the capital of France?'));
    await openai.chat.completions.create(ask('capital of France, what is it'));
    const text = await (await fetch(`${h?.url}/metrics`)).text();
    const sample = (series: string) => Number(text.match(new RegExp(`^${series} (\\S+)$`, 'm'))?.[1]);
    expect(sample('unity_router_cache_lookups_total{layer="exact",result="hit"}')).toBe(1);
    expect(sample('unity_router_cache_lookups_total{layer="exact",result="miss"}')).toBe(2);
    expect(sample('unity_router_cache_lookups_total{layer="semantic",result="hit"}')).toBe(1);
    expect(sample('unity_router_cache_lookups_total{layer="semantic",result="miss"}')).toBe(1);
  });
});

describe('cache scope per key', () => {
  async function createKey(name: string): Promise<string> {
    const response = await fetch(`${h?.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { key: string }).key;
  }

  it("never serves one virtual key's cached answer to another key or to the master key, exact or paraphrased", async () => {
    await start({ api_key: master });
    const [a, b] = [await createKey('tenant-a'), await createKey('tenant-b')];
    h?.cloud.enqueue({ text: "A's private answer" }, { text: 'for B' }, { text: 'for master' });
    await client(a).chat.completions.create(ask('What is our launch date?'));
    const answers = [
      await client(b).chat.completions.create(ask('When do we launch?')),
      await client(master).chat.completions.create(ask('What is our launch date?')),
    ].map(contentOf);
    expect(answers).toEqual(['for B', 'for master']);
    expect(upstreamChats()).toBe(3);
    // Key A itself is served from the cache, exact and paraphrased; so is B, its own answer.
    expect(contentOf(await client(a).chat.completions.create(ask('What is our launch date?')))).toBe(
      "A's private answer",
    );
    expect(contentOf(await client(a).chat.completions.create(ask('When is our launch?')))).toBe("A's private answer");
    expect(contentOf(await client(b).chat.completions.create(ask('What is our launch date?')))).toBe('for B');
    expect(upstreamChats()).toBe(3);
  });
});
