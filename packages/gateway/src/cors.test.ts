import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, parseConfig } from '@unity/llm-router';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { serverConfigSchema } from './server-config';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`cors.test.ts: the browser test is skipped, ${chromiumPath} is absent`);

const key = 'k-cors-test-0123456789';
let h: Harness;
let app: Server;
/** The browser app's origin, allowed by the gateway's config. */
let allowed: string;
/** The same app under another origin, not allowed. */
let other: string;

beforeAll(async () => {
  // A "browser app": one page, served from an origin other than the gateway's.
  app = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title>');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const port = (app.address() as AddressInfo).port;
  allowed = `http://127.0.0.1:${port}`;
  other = `http://localhost:${port}`;
  h = await startHarness({
    env: { UNITY_API_KEY: key },
    extraYaml: `  cors:\n    origins: ["${allowed}", "https://app.example.com"]\n    max_age_seconds: 900\n`,
  });
});
afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => app.close(resolve));
});

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-stainless-os',
    },
  });

describe('CORS (server.cors)', () => {
  it('answers an allowed origin’s preflight without asking for the key: origin, methods, headers, max age, Vary', async () => {
    const r = await preflight(`${h.url}/v1/chat/completions`, allowed);
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, OPTIONS');
    const headers = r.headers.get('access-control-allow-headers')?.split(/,\s*/) ?? [];
    expect(headers).toEqual(
      expect.arrayContaining(['authorization', 'x-api-key', 'anthropic-version', 'content-type', 'x-stainless-os']),
    );
    expect(r.headers.get('access-control-max-age')).toBe('900');
    expect(r.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('gives an origin not listed no Access-Control-Allow-Origin', async () => {
    const r = await preflight(`${h.url}/v1/chat/completions`, 'https://evil.example.com');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the app read who served and the request id on the answer, and a refusal’s status too', async () => {
    h.cloud.enqueue({ text: 'hi from the cloud' });
    const ok = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: allowed, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowed);
    const exposed = ok.headers.get('access-control-expose-headers')?.split(/,\s*/) ?? [];
    expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'x-unity-provider', 'x-unity-model']));
    const refused = await fetch(`${h.url}/v1/models`, { headers: { origin: allowed, authorization: 'Bearer wrong' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(allowed);
  });

  it('is off by default: no CORS header at all', async () => {
    const plain = await startHarness();
    try {
      const r = await preflight(`${plain.url}/v1/chat/completions`, allowed);
      expect(r.headers.get('access-control-allow-origin')).toBeNull();
      const get = await fetch(`${plain.url}/v1/models`, { headers: { origin: allowed } });
      expect(get.status).toBe(200);
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.close();
    }
  });

  it('names the file, line and entry of an origin that is not one', () => {
    const error = (() => {
      try {
        parseConfig('server:\n  cors:\n    origins:\n      - https://app.example.com/chat\n', 'configs/system.yaml', {
          server: serverConfigSchema,
        });
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^configs\/system.yaml:4: server.cors.origins.0: expected an origin such as http:\/\/localhost:3000 \(scheme, host, optional port; no path\) or "\*", got "https:\/\/app.example.com\/chat"/,
    );
  });
});

describe.skipIf(!hasChromium)('CORS in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** From a page of `origin`, POST a chat to the gateway with the key, as a browser app would. */
  async function chatFrom(origin: string): Promise<{ text?: string; provider?: string | null; error?: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      return await page.evaluate(
        async ({ url, key }) => {
          try {
            const r = await fetch(`${url}/v1/chat/completions`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
            });
            const body = (await r.json()) as { choices: { message: { content: string } }[] };
            return { text: body.choices[0]?.message.content, provider: r.headers.get('x-unity-provider') };
          } catch (e) {
            return { error: String(e) };
          }
        },
        { url: h.url, key },
      );
    } finally {
      await page.close();
    }
  }

  it('lets a page of an allowed origin call the gateway and read who served', async () => {
    h.cloud.enqueue({ text: 'hello browser' });
    expect(await chatFrom(allowed)).toEqual({ text: 'hello browser', provider: 'openai' });
  });

  it('blocks a page of another origin', async () => {
    h.cloud.reset();
    const result = await chatFrom(other);
    expect(result.error).toMatch(/Failed to fetch/);
    // The preflight failed, so the chat itself was never sent.
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });
});
