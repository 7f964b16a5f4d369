// Virtual keys under attack (issue 15, "Virtual keys, budgets and spend"): revoked, expired and forged keys, a key
// for one model asking for another, timing of the key comparison, rpm and budget bypass by concurrency, and the
// admin API, the dashboard and the event feed with a virtual key. Each runs against a real gateway on 127.0.0.1 over
// real sockets (the real router, the test kit's fake upstreams), its keys in a temp folder.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RunningServer, startServer } from '@unity/gateway';
import { FakeOllama, FakeOpenAI, gatewayConfigYaml } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const master = 'attack-master-key';
let cloud: FakeOpenAI;
let local: FakeOllama;
let server: RunningServer;
let dir: string;
let url: string;
let now = Date.UTC(2026, 11, 7, 12, 0, 0);

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(path.join(tmpdir(), 'unity-keys-attack-'));
  const configPath = path.join(dir, 'system.yaml');
  await writeFile(
    configPath,
    gatewayConfigYaml({
      cloudBaseUrl: cloud.baseURL,
      ollamaHost: local.host,
      server: {
        api_key: master,
        data_dir: path.join(dir, 'data'),
        prices: "{'openai/MiniMax-M2': {input_per_mtok: 1000, output_per_mtok: 2000}}",
      },
    }),
  );
  server = await startServer({ configPath, port: 0, env: { TEST_CLOUD_KEY: 'sk-attack' }, clock: () => now });
  url = server.address;
});
afterAll(async () => {
  await server.shutdown({ drainTimeoutMs: 1_000 });
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});

async function createKey(body: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { key: string; id: string };
}

const chat = (key: string, model = 'unity') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'attack' }], max_tokens: 20 }),
  });

const upstreamCalls = () => cloud.requestsTo('/chat/completions').length + local.requestsTo('/api/chat').length;

describe('virtual keys under attack', () => {
  it('refuses a revoked key at once, before any upstream is called', async () => {
    const { key, id } = await createKey({ name: 'to-revoke' });
    expect((await chat(key)).status).toBe(200);
    await fetch(`${url}/admin/keys/${id}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${master}` } });
    const before = upstreamCalls();
    for (const model of ['unity', 'local']) expect((await chat(key, model)).status).toBe(401);
    expect(upstreamCalls()).toBe(before);
  });

  it('refuses an expired key', async () => {
    const { key } = await createKey({ name: 'to-expire', expires: '10m' });
    expect((await chat(key)).status).toBe(200);
    now += 10 * 60_000;
    const response = await chat(key);
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('expired');
  });

  it('refuses a key for model A asking for model B, under every name and protocol', async () => {
    const { key } = await createKey({ name: 'local-only', models: ['local'] });
    const before = upstreamCalls();
    for (const model of ['unity', 'openai/MiniMax-M2', 'MiniMax-M2', 'reasoning', 'local:latest', 'LOCAL', '']) {
      expect((await chat(key, model)).status, model).toBe(403);
    }
    const anthropic = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(anthropic.status).toBe(403);
    for (const endpoint of ['/api/chat', '/api/generate']) {
      const ollama = await fetch(`${url}${endpoint}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({
          model: 'unity',
          prompt: 'x',
          messages: [{ role: 'user', content: 'x' }],
          stream: false,
        }),
      });
      expect(ollama.status, endpoint).toBe(403);
    }
    expect(upstreamCalls()).toBe(before);
  });

  it('refuses forged keys with the valid prefix, a truncated key and a key with one character changed', async () => {
    const { key } = await createKey({ name: 'real' });
    const forged = [
      `uk-${'A'.repeat(43)}`,
      'uk-',
      key.slice(0, -1),
      `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`,
      `${key}x`,
      key.toUpperCase(),
    ];
    for (const candidate of forged) expect((await chat(candidate)).status, candidate).toBe(401);
  });

  it('takes as long to refuse a key that matches all but its last character as a random one', async () => {
    const { key } = await createKey({ name: 'timed' });
    const near = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    const far = `uk-${'Z'.repeat(43)}`;
    const time = async (candidate: string) => {
      const started = process.hrtime.bigint();
      await (await chat(candidate)).text();
      return Number(process.hrtime.bigint() - started) / 1e3;
    };
    for (let i = 0; i < 20; i++) await time(i % 2 ? near : far);
    const nearTimes: number[] = [];
    const farTimes: number[] = [];
    for (let i = 0; i < 200; i++) {
      nearTimes.push(await time(near));
      farTimes.push(await time(far));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const difference = Math.abs(median(nearTimes) - median(farTimes));
    console.log(`refusal medians: near ${median(nearTimes).toFixed(0)} µs, far ${median(farTimes).toFixed(0)} µs`);
    // The secret is hashed before any lookup: nothing compares it character by character. A leak worth exploiting
    // would show as a steady gap; HTTP noise on 2 cores stays well under this.
    expect(difference).toBeLessThan(Math.max(300, 0.25 * median(farTimes)));
  });

  it('admits exactly rpm of 50 requests sent at once', async () => {
    const { key } = await createKey({ name: 'rpm-5', rpm: 5 });
    cloud.setDefault({ text: 'slow', delayMs: 100 });
    try {
      const statuses = await Promise.all(Array.from({ length: 50 }, () => chat(key).then((r) => r.status)));
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    } finally {
      cloud.setDefault((request) => ({
        text: `echo: ${String((request.body.messages as { content: string }[]).at(-1)?.content)}`,
      }));
    }
  });

  it('does not let 50 concurrent clients overshoot a budget by more than one reservation', async () => {
    cloud.setDefault({ text: 'ok', usage: { promptTokens: 10, completionTokens: 1 }, delayMs: 50 });
    try {
      const budget = 0.1;
      const { key, id } = await createKey({ name: 'budget', budget_usd: budget });
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          for (let i = 0; i < 10; i++) {
            const status = (await chat(key)).status;
            statuses.push(status);
            if (status !== 200) return;
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const spend = (await (
        await fetch(`${url}/admin/spend?key=${id}`, { headers: { authorization: `Bearer ${master}` } })
      ).json()) as { total: { cost_usd: number } };
      // One reservation: ~20 input tokens estimated × $0.001 + 20 max output × $0.002 ≈ $0.06.
      expect(spend.total.cost_usd).toBeLessThan(budget + 0.06);
      expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    } finally {
      cloud.setDefault((request) => ({
        text: `echo: ${String((request.body.messages as { content: string }[]).at(-1)?.content)}`,
      }));
    }
  });

  it('keeps a virtual key out of the admin API, the dashboard, metrics, audit and the event feed', async () => {
    const { key } = await createKey({ name: 'nosy' });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const keysBefore = (
      (await (await fetch(`${url}/admin/keys`, { headers: { authorization: `Bearer ${master}` } })).json()) as {
        keys: unknown[];
      }
    ).keys.length;
    const attempts = [
      fetch(`${url}/admin/keys`, { headers }),
      fetch(`${url}/admin/keys`, { method: 'POST', headers, body: JSON.stringify({ name: 'escalated' }) }),
      fetch(`${url}/admin/spend`, { headers }),
      fetch(`${url}/admin/keys/x/rotate`, { method: 'POST', headers }),
      fetch(`${url}/?api_key=${key}`),
      fetch(`${url}/metrics`, { headers }),
      fetch(`${url}/audit`, { headers }),
      fetch(`${url}/ws?api_key=${key}`),
      fetch(`${url}/api/pull`, { method: 'POST', headers, body: JSON.stringify({ model: 'x' }) }),
    ];
    for (const response of await Promise.all(attempts)) expect(response.status, response.url).toBe(403);
    const keysAfter = (
      (await (await fetch(`${url}/admin/keys`, { headers: { authorization: `Bearer ${master}` } })).json()) as {
        keys: unknown[];
      }
    ).keys.length;
    expect(keysAfter).toBe(keysBefore);
  });

  it('never repeats a key in a listing, the metrics or the audit', async () => {
    const { key } = await createKey({ name: 'secret' });
    await chat(key);
    const auth = { headers: { authorization: `Bearer ${master}` } };
    for (const endpoint of ['/admin/keys', '/admin/spend', '/metrics', '/audit']) {
      const body = await (await fetch(`${url}${endpoint}`, auth)).text();
      expect(body, endpoint).not.toContain(key.slice(3));
    }
  });
});
