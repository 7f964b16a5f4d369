import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`alerts-banner.test.ts: skipped, ${chromiumPath} is absent (apt-get install chromium)`);

const master = 'master-key-of-the-banner-test';
let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  h = await startHarness({
    env: { UNITY_API_KEY: master },
    extraYaml: [
      'alerts:',
      '  evaluation_interval_seconds: 0.05',
      '  rules:',
      '    - {name: slow, kind: latency_p95, threshold_ms: 100, window_seconds: 1.5, min_requests: 1}',
      '',
    ].join('\n'),
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await h?.close();
});

describe.skipIf(!hasChromium)('the dashboard’s alert banner', () => {
  it('shows an active alert while it fires and hides once it resolves', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.url}/?api_key=${master}`);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });
    expect(await page.locator('#alerts').isHidden()).toBe(true);

    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: master, maxRetries: 0 });
    h.local.enqueue({ text: 'slowly', delayMs: 250 });
    await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'slow' }] });

    const row = page.locator('#alerts-list [data-alert-id="slow"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await page.locator('#alerts').isVisible()).toBe(true);
    expect(await row.textContent()).toMatch(/^slow: p95 latency \d+ ms over the last 1.5 s is above 100 ms/);
    await page.locator('#alerts').waitFor({ state: 'hidden', timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
