import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessConfig } from './__tests__/test-harness';
import { type RunningServer, startServer } from './start-server';

const password = 'Pa55-word-in-url';
let cloud: FakeOpenAI;
let local: FakeOllama;
let server: RunningServer;
let dir: string;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-server-redact-'));
  const configPath = join(dir, 'system.yaml');
  const config = harnessConfig(cloud, local).replace(cloud.baseURL, cloud.baseURL.replace('//', `//u:${password}@`));
  await writeFile(configPath, config);
  server = await startServer({ configPath, port: 0, env: { TEST_CLOUD_KEY: 'sk-test' } });
});
afterAll(async () => {
  await server.shutdown({ drainTimeoutMs: 1_000 });
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});

describe('a password in a provider URL', () => {
  it('never appears in an error body, /audit, /metrics, /readyz or the live events', async () => {
    const seen: string[] = [];
    server.gateway.bus.subscribe((e) => seen.push(JSON.stringify(e)));
    cloud.enqueue({ fault: 'status', status: 500, message: `proxy at ${cloud.baseURL} said no (u:${password})` });
    local.enqueue({ fault: 'status', status: 500 });
    const r = await fetch(`${server.address}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'x' }] }),
    });
    const texts = [await r.text(), ...seen];
    for (const path of ['/audit', '/metrics', '/readyz'])
      texts.push(await (await fetch(`${server.address}${path}`)).text());
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(texts[0]).toContain('u:[redacted]@');
    for (const text of texts) expect(text).not.toContain(password);
  });
});
