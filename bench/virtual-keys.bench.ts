// The cost of virtual keys per request, in one run: the same gateway (over a stub router that answers at once, so
// that nothing but the gateway is timed) with no key at all, with the master key only, and with a virtual key that has
// rpm, tpm, a budget and a model list (authentication by sha256, admission with a reservation, settlement) over the
// embedded SQLite store. Sequential requests over keep-alive connections, interleaved rounds; then the checks alone
// (authenticate + admit + settle) called in a loop, without HTTP.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, openVirtualKeys } from '@unity/gateway';
import { Agent, request } from 'undici';
import { compare, goal, median, report } from './lib/measure';

const target = { provider: 'openai', model: 'openai/MiniMax-M2' };
const response = {
  content: 'echo: hello there',
  toolCalls: [],
  provider: 'openai',
  model: 'MiniMax-M2',
  usage: { inputTokens: 2, outputTokens: 3, totalTokens: 5 },
  attempts: [{ ...target, ok: true, ms: 0 }],
  finishReason: 'stop' as const,
};
class StubRouter extends EventEmitter {
  async chat() {
    this.emit('attempt-start', target);
    return response;
  }
  // biome-ignore lint/correctness/useYield: never streamed here
  async *stream() {
    throw new Error('not streamed in this benchmark');
  }
}

const models = [{ id: 'unity', route: {}, local: false, chain: ['openai/MiniMax-M2'] }];
const master = 'bench-master-key';
const dir = mkdtempSync(join(tmpdir(), 'unity-keys-bench-'));
const virtualKeys = openVirtualKeys({ dataDir: dir });
const { key } = await virtualKeys.create({
  name: 'bench',
  rpm: 1_000_000_000,
  tpm: 1_000_000_000_000,
  budgetUsd: 1_000_000,
  models: ['unity'],
});

const plain = createGateway({ router: new StubRouter(), models, processMetrics: false });
const withMaster = createGateway({ router: new StubRouter(), models, apiKey: master, processMetrics: false });
const withKeys = createGateway({
  router: new StubRouter(),
  models,
  apiKey: master,
  virtualKeys,
  processMetrics: false,
});
const origins = {
  plain: await plain.listen({ port: 0 }),
  master: await withMaster.listen({ port: 0 }),
  keys: await withKeys.listen({ port: 0 }),
};

const dispatcher = new Agent({ connections: 4 });
const body = JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 16 });
const post = (origin: string, auth?: string) => async () => {
  const r = await request(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body,
    dispatcher,
  });
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}: ${await r.body.text()}`);
  await r.body.text();
};

const samples = await compare(
  {
    'no key': post(origins.plain),
    'master key': post(origins.master, master),
    'virtual key (rpm, tpm, budget, models)': post(origins.keys, key),
    'master key, keys on (no key checks)': post(origins.keys, master),
  },
  { rounds: 3_000, warmup: 300 },
);
report('one chat request, sequential, stub router (ratio to the same gateway without keys)', samples, 'no key');
const [none, , virtual] = samples.map((s) => median(s.times) * 1000) as [number, number, number];
const added = virtual - none;
console.log(
  `\nadded by the virtual key's checks: ${added.toFixed(1)} µs per request (×${(virtual / none).toFixed(3)})`,
);

// The checks alone: what the hooks call, without HTTP.
const record = await virtualKeys.authenticate(key);
const n = 20_000;
const started = performance.now();
for (let i = 0; i < n; i++) {
  const r = await virtualKeys.authenticate(key);
  const reservation = await virtualKeys.admit(r, {
    model: 'unity',
    chain: ['openai/MiniMax-M2'],
    inputTokens: 20,
    outputTokens: 16,
  });
  await virtualKeys.settle(reservation, { model: 'openai/MiniMax-M2', inputTokens: 2, outputTokens: 3 });
}
const checkUs = ((performance.now() - started) * 1000) / n;
console.log(`authenticate + admit + settle alone: ${checkUs.toFixed(1)} µs per request (${record.id})`);

goal('added latency of the key and limit checks', added, 200, ' µs');

await Promise.all([plain.shutdown(), withMaster.shutdown(), withKeys.shutdown()]);
await virtualKeys.close();
await dispatcher.close();
rmSync(dir, { recursive: true, force: true });
