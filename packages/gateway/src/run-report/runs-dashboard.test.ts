// The dashboard's Runs panel in headless Chromium: runs reported while the page is open appear live (an agent's
// steps, tool calls and reminders; an evolution's generations, scores and arms), and a page opened later lists them.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';
import { RunReporter } from './run-reporter';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) console.warn(`runs-dashboard.test.ts: skipped, ${chromiumPath} is absent (apt-get install chromium)`);

let h: Harness;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  if (!hasChromium) return;
  h = await startHarness();
  shots = process.env.UNITY_SCREENSHOT_DIR ?? (await mkdtemp(join(tmpdir(), 'unity-runs-dashboard-')));
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await h?.close();
  if (!process.env.UNITY_SCREENSHOT_DIR) await rm(shots, { recursive: true, force: true });
});

const step = (iteration: number, toolCalls: string[]) => ({
  type: 'model-response' as const,
  iteration,
  elapsedMs: iteration * 100,
  content: '',
  toolCalls: toolCalls.map((name, i) => ({ id: `c${iteration}-${i}`, name, arguments: {}, rawArguments: '{}' })),
  usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
  model: 'MiniMax-M2',
  provider: 'openai',
  finishReason: toolCalls.length ? ('tool_calls' as const) : ('stop' as const),
  ms: 20,
});

const call = (iteration: number, name: string, path: string) => ({
  type: 'tool-call' as const,
  iteration,
  elapsedMs: iteration * 100 + 10,
  call: { id: `c${iteration}-0`, name, arguments: { path }, rawArguments: JSON.stringify({ path }) },
});

describe.skipIf(!hasChromium)('the Runs panel of the dashboard in headless Chromium', () => {
  it('shows an agent run and an evolution run live, and lists them on a page opened later', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.url}/`);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });
    expect(await page.locator('#runs-note').textContent()).toContain('no run reported yet');

    const agent = new RunReporter({ url: h.url, kind: 'agent', title: 'What do the notes say? <b>bold</b>' });
    agent.report(step(1, ['read_file']));
    agent.report(call(1, 'read_file', 'notes.txt'));
    agent.report({
      type: 'reminder',
      iteration: 2,
      elapsedMs: 150,
      threshold: { calls: 1, level: 'consider wrapping up' },
      toolCalls: 1,
      message: 'You have made 1 tool call.',
    });
    await agent.close();
    const agentRow = page.locator(`#runs [data-run-id="${agent.runId}"]`);
    await agentRow.waitFor({ timeout: 10_000 });
    await expect.poll(() => agentRow.textContent(), { timeout: 10_000 }).toContain('reminder (consider wrapping up)');
    const agentText = (await agentRow.textContent()) ?? '';
    expect(agentText).toContain('What do the notes say? <b>bold</b>');
    expect(agentText).toContain('steps 1 · tool calls 1 (read_file 1)');
    expect(agentText).toContain('reminders 1 (last: consider wrapping up)');
    expect(agentText).toContain('tool read_file {"path":"notes.txt"}');
    expect(await agentRow.locator('b').first().innerHTML()).toBe('What do the notes say? &lt;b&gt;bold&lt;/b&gt;');

    const evolution = new RunReporter({ url: h.url, kind: 'evolution', title: 'target.mjs' });
    const arms = {
      rewrite: { pulls: 2, meanReward: 0.5, successes: 1 },
      diff: { pulls: 1, meanReward: 0, successes: 0 },
    };
    evolution.report({ type: 'start', resumed: false, baselineScore: 36, generation: 1, candidates: 1 });
    evolution.report({ type: 'generation', generation: 1, offspring: 2 });
    for (const [i, score] of [48, null, 72].entries()) {
      evolution.report({
        type: 'candidate',
        line: {
          ts: new Date().toISOString(),
          generation: 1,
          candidate_id: `c${i}`,
          parent_id: 'baseline',
          strategy: i === 1 ? 'diff' : 'rewrite',
          score,
          delta: score === null ? null : score - 36,
          best_score: i === 0 ? 48 : i === 1 ? 48 : 72,
          bandit: arms,
          tokens: 100,
          cost_usd: 0,
          ms: 10,
          ...(score === null ? { error: 'the diff did not apply' } : {}),
        },
      });
    }
    evolution.report({ type: 'stop', reason: 'generations' });
    await evolution.close();
    const evolutionRow = page.locator(`#runs [data-run-id="${evolution.runId}"]`);
    await expect.poll(() => evolutionRow.textContent(), { timeout: 10_000 }).toContain('stopped: generations');
    const evolutionText = (await evolutionRow.textContent()) ?? '';
    expect(evolutionText).toContain(
      'generation 1 · candidates 3 (1 failed) · best 72.00 (baseline 36.00) · last 72.00',
    );
    expect(await evolutionRow.locator('tr[data-arm="rewrite"]').textContent()).toBe('rewrite20.5001');
    expect(await evolutionRow.locator('svg circle').count()).toBe(2);
    // Most recently updated first.
    expect(await page.locator('#runs .run').first().getAttribute('data-run-id')).toBe(evolution.runId);

    const file = join(shots, 'dashboard-runs.png');
    await page.locator('#runs-panel').screenshot({ path: file });
    expect((await stat(file)).size).toBeGreaterThan(5_000);

    const later = await browser.newPage();
    later.on('pageerror', (e) => errors.push(e.message));
    await later.goto(`${h.url}/`);
    await later.locator(`#runs [data-run-id="${agent.runId}"]`).waitFor({ timeout: 10_000 });
    expect(await later.locator(`#runs [data-run-id="${evolution.runId}"] .run-figures`).textContent()).toContain(
      'candidates 3',
    );
    expect(errors).toEqual([]);
    await page.close();
    await later.close();
  });

  it('shows runs whose id or tool names are Object’s members (constructor, toString, __proto__), live and later', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.url}/`);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });
    const live = new RunReporter({ url: h.url, kind: 'agent', runId: 'constructor' });
    live.report(step(1, ['__proto__']));
    live.report(call(1, '__proto__', 'a.txt'));
    live.report(call(1, 'toString', 'b.txt'));
    await live.close();
    const row = page.locator('#runs [data-run-id="constructor"]');
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('tool calls 2 (__proto__ 1, toString 1)');

    const earlier = new RunReporter({ url: h.url, kind: 'agent', runId: 'toString' });
    earlier.report(step(1, []));
    await earlier.close();
    const later = await browser.newPage();
    later.on('pageerror', (e) => errors.push(e.message));
    await later.goto(`${h.url}/`);
    await later.locator('#runs [data-run-id="toString"]').waitFor({ timeout: 10_000 });
    await later.locator('#runs [data-run-id="constructor"]').waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
    await later.close();
  });
});
