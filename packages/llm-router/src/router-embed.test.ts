import { FakeOllama, FakeOpenAI, nomicEmbedModel } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from './config';
import { createRouter } from './router';

let cloud: FakeOpenAI;
let ollama: FakeOllama;
beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: 'sk-embed-0123456789abcdef' });
  ollama = await FakeOllama.start({ models: [nomicEmbedModel] });
});
afterAll(async () => {
  await Promise.all([cloud.close(), ollama.close()]);
});

describe('router.embed', () => {
  it("embeds through the router's embedding chain, falling back from a failing cloud to Ollama", async () => {
    const config = parseConfig(
      [
        'cloud_llm:',
        '  provider: openai',
        `  base_url: ${cloud.baseURL}`,
        'models:',
        '  embedding: [openai/text-embedding-3-small, ollama/nomic-embed-text]',
        'ollama:',
        `  host: ${ollama.host}`,
        'router:',
        '  retries: { max_retries: 0, initial_delay_ms: 1 }',
      ].join('\n'),
      'test.yaml',
    );
    const router = createRouter({ config, env: { OPENAI_API_KEY: 'sk-embed-0123456789abcdef' } });
    try {
      const first = await router.embed({ input: 'red apple pie' });
      expect(first).toMatchObject({ provider: 'openai', model: 'openai/text-embedding-3-small' });
      cloud.enqueue({ fault: 'status', status: 503 });
      const second = await router.embed({ input: ['red apple pie', 'tax law'] });
      expect(second.provider).toBe('ollama');
      expect(second.embeddings).toHaveLength(2);
      expect(second.attempts.map((a) => [a.provider, a.error?.code ?? 'ok'])).toEqual([
        ['openai', 'SERVER_ERROR'],
        ['ollama', 'ok'],
      ]);
    } finally {
      await router.close();
    }
  });
});
