import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium)
  console.warn(`dashboard-spend.test.ts: skipped, ${chromiumPath} is absent (apt-get install chromium)`);

const master = 'dashboard-master';
let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  h = await startHarness({
    server: { api_key: master, prices: "{'openai/MiniMax-M2': {input_per_mtok: 1000, output_per_mtok: 2000}}" },
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
}, 60_000);
afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await h?.close();
});

describe.skipIf(!hasChromium)('the dashboard’s spend panel', () => {
  it('shows the spend of each key, updated after a request under it', async () => {
    const created = await fetch(`${h.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'panel-key' }),
    });
    const { key, id } = (await created.json()) as { key: string; id: string };
    const page = await browser.newPage();
    await page.goto(`${h.url}/?api_key=${master}`);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });
    expect(await page.locator('#spend-note').textContent()).toContain('no requests under a virtual key yet');

    h.cloud.setDefault({ text: 'ok', usage: { promptTokens: 10, completionTokens: 1 } });
    const answered = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(answered.status).toBe(200);
    const row = page.locator('#spend tbody tr', { hasText: id });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('panel-key');
    expect(await row.textContent()).toContain('$0.0120');
    await page.close();
  });

  it('says why when the admin API refuses: a gateway without a master key', async () => {
    const open = await startHarness();
    try {
      const page = await browser.newPage();
      await page.goto(`${open.url}/`);
      await page.locator('#spend-note', { hasText: 'the admin API is off' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#spend-note').textContent()).toContain('server.api_key');
      await page.close();
    } finally {
      await open.close();
    }
  });
});
