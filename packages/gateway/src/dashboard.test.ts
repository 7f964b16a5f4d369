import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`dashboard.test.ts: skipped, ${chromiumPath} is absent (apt-get install chromium)`);

let h: Harness;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  if (!hasChromium) return;
  h = await startHarness();
  shots = process.env.UNITY_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), 'unity-dashboard-')));
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await h?.close();
  if (!process.env.UNITY_SCREENSHOT_DIR) await rm(shots, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('the dashboard in headless Chromium', () => {
  it('shows a request made while it is open, with who served it, and renders its charts', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.url}/`);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });

    h.cloud.enqueue({ fault: 'status', status: 503 });
    h.local.enqueue({ text: 'served by the local model', usage: { promptTokens: 5, completionTokens: 5 } });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'coding',
      messages: [{ role: 'user', content: 'dashboard check' }],
      stream: true,
    });
    for await (const _ of stream) {
      // drain
    }

    const row = page.locator('#requests tbody tr').filter({ hasText: 'coding' });
    await row.first().waitFor({ timeout: 10_000 });
    const text = await row.first().textContent();
    expect(text).toContain('openai.chat (stream)');
    expect(text).toContain('ollama / qwen2.5-coder:7b');
    expect(text).toContain('200');
    expect(await page.locator('#stat-requests').textContent()).toBe('1');
    expect(await page.locator('#stat-fallback').textContent()).toBe('100%');
    expect(await page.locator('#providers tbody').textContent()).toMatch(/ollama\s*available/);
    expect(await page.locator('#latency-chart path').count()).toBeGreaterThan(0);

    h.server.gateway.bus.publish('evolution.start', { baselineScore: 0.5 });
    h.server.gateway.bus.publish('evolution.best', { candidate: { id: 'c1', score: 0.8125 } });
    await page.locator('#evolution-note', { hasText: 'last 0.813' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#evolution-chart path').count()).toBe(1);

    const file = join(shots, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect((await stat(file)).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  });
});
