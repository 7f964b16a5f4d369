import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

// A collectable heap for before/after comparisons, without restarting the worker with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let h: Harness;
let dispatcher: Agent;

beforeAll(async () => {
  h = await startHarness();
  h.cloud.setDefault((req) => ({
    text: `reply to ${(req.body.messages as { content: string }[])[0]?.content} ${'x '.repeat(20)}`.trim(),
    chunkDelayMs: 2,
  }));
  dispatcher = new Agent({ connections: 256 });
});
afterAll(async () => {
  await dispatcher.close();
  await h.close();
});

/** One streaming client: the whole SSE body, checked for its own answer and a clean end. */
async function streamOne(i: number): Promise<boolean> {
  const response = await request(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'unity', stream: true, messages: [{ role: 'user', content: `client-${i}` }] }),
    dispatcher,
  });
  const text = await response.body.text();
  const content = text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: {'))
    .map(
      (frame) =>
        (JSON.parse(frame.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content,
    )
    .join('');
  return (
    response.statusCode === 200 && content.startsWith(`reply to client-${i} x`) && text.endsWith('data: [DONE]\n\n')
  );
}

async function wave(size: number): Promise<boolean[]> {
  return Promise.all(Array.from({ length: size }, (_, i) => streamOne(i)));
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

describe('load', () => {
  it('completes 200 concurrent streaming clients with none lost, and the heap returns to its level', async () => {
    // Warm-up: JIT, sockets, and the event backlog (500 events) full, so that it holds as much before as after.
    await wave(200);
    await wave(200);
    h.cloud.reset(); // the fake keeps a record of every request: not the gateway's memory
    const before = await settledHeap();
    const results = await wave(200);
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(200);
    expect(h.server.gateway.inflight).toBe(0);
    h.cloud.reset();
    const after = await settledHeap();
    // Nothing per request may stay behind: 5 KB kept per request would already show as 1 MB here.
    expect(after - before).toBeLessThan(1024 * 1024);
  }, 60_000);
});
