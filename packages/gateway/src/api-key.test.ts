import { request as httpRequest } from 'node:http';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { GatewayError } from './errors';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The HTTP status of a WebSocket upgrade request: 101 when accepted. */
function upgradeStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        'sec-websocket-version': '13',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The gateway's port, reached over loopback while it listens on every interface. */
const loopbackUrl = (address: string) => `http://127.0.0.1:${new URL(address).port}`;

describe('API key off loopback', () => {
  it('refuses to listen on a non-loopback address without an API key', async () => {
    const error = await startHarness({ host: '0.0.0.0' }).catch((e) => e);
    expect(GatewayError.isInstance(error)).toBe(true);
    expect(error.code).toBe('API_KEY_REQUIRED');
    expect(error.fix).toContain('UNITY_API_KEY');
  });

  it('requires the key from the environment on every endpoint but /healthz', async () => {
    h = await startHarness({ host: '0.0.0.0', env: { UNITY_API_KEY: 'secret-key' } });
    const url = loopbackUrl(h.url);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    for (const path of ['/', '/readyz', '/metrics', '/audit', '/v1/models', '/api/tags', '/api/version']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(401);
    }
    const refused = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('serves clients that send the key', async () => {
    h = await startHarness({ host: '0.0.0.0', env: { UNITY_API_KEY: 'secret-key' } });
    const url = loopbackUrl(h.url);
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'secret-key', maxRetries: 0 });
    const r = await openai.chat.completions.create({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]?.message.content).toBe('echo: hi');
    const ollama = new Ollama({ host: url, headers: { 'x-api-key': 'secret-key' } });
    expect((await ollama.list()).models.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/?api_key=secret-key`)).status).toBe(200);
  });

  it('takes the key from the config and guards the WebSocket with it', async () => {
    h = await startHarness({ host: '0.0.0.0', server: { api_key: 'from-config' } });
    const port = Number(new URL(h.url).port);
    expect(await upgradeStatus(port, '/ws')).toBe(401);
    expect(await upgradeStatus(port, '/ws?api_key=wrong')).toBe(401);
    expect(await upgradeStatus(port, '/ws?api_key=from-config')).toBe(101);
    const opened = await new Promise<boolean>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?api_key=from-config`);
      socket.onopen = () => {
        socket.close();
        resolve(true);
      };
      socket.onerror = () => reject(new Error('the WebSocket did not open'));
    });
    expect(opened).toBe(true);
  });
});
