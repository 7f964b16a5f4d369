import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

const longReply = { text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), chunkDelayMs: 20 };

/** Start a streaming request, read its first chunk, then drop the connection. */
async function readFirstChunkThenLeave(path: string, body: unknown): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  const first = await reader.read();
  controller.abort();
  return new TextDecoder().decode(first.value);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a client that disconnects mid-stream', () => {
  it('cancels the upstream OpenAI request', async () => {
    h.cloud.enqueue(longReply);
    const first = await readFirstChunkThenLeave('/v1/chat/completions', {
      model: 'unity',
      stream: true,
      messages: [{ role: 'user', content: 'long story' }],
    });
    expect(first).toContain('data: ');
    const upstream = h.cloud.requestsTo('/chat/completions');
    await until(() => upstream[0]?.aborted === true, 'the upstream request to be aborted');
    expect(upstream).toHaveLength(1);
    expect(h.local.requestsTo('/api/chat')).toHaveLength(0);
    await until(() => h.server.gateway.inflight === 0, 'the gateway to forget the request');
  });

  it('cancels the upstream Ollama request on /api/chat', async () => {
    await h.cloud.refuse();
    try {
      h.local.enqueue(longReply);
      const first = await readFirstChunkThenLeave('/api/chat', {
        model: 'unity',
        messages: [{ role: 'user', content: 'long story' }],
      });
      expect(JSON.parse(first.split('\n')[0] ?? '')).toMatchObject({ done: false });
      const upstream = h.local.requestsTo('/api/chat');
      await until(() => upstream[0]?.aborted === true, 'the upstream request to be aborted');
    } finally {
      await h.cloud.accept();
    }
  });
});
