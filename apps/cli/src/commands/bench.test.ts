// `unity bench models` as a real process (the built binary) on the embedded engine and the shared tiny model
// (../shared/models/stories260K.gguf): it writes little stories, so it fails most checks; what is asserted is that the
// bench runs end to end and its table, JSON and SVG are written with numbers where numbers belong.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const modelPath = sharedModelPath();
if (!modelPath)
  console.warn('bench.test.ts: skipped, ../shared/models/stories260K.gguf is absent (or set UNITY_TEST_MODEL)');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-bench-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function unity(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!modelPath)('unity bench models on the embedded model (built binary, as a real process)', () => {
  it('runs the built-in tasks and writes the table, the JSON and the SVG chart, with numbers for the figures', async () => {
    const model = `llamacpp/${modelPath}`;
    const out = await unity(['bench', 'models', '--models', model, '--out', 'results', '--timeout', '60']);
    expect(out.code, out.stderr).toBe(0);

    const [header, row] = out.stdout.split('\n');
    expect(header).toMatch(/^model\s+pass rate\s+passed\s+latency p50\s+first token p50\s+tokens\/s\s+cost\s+errors$/);
    expect(row).toMatch(
      new RegExp(
        `^${model.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s+\\d+%\\s+\\d+/7\\s+\\d+ ms\\s+\\d+ ms\\s+[\\d.]+\\s+–\\s+0$`,
      ),
    );
    expect(out.stderr).toContain(`[1/7] ${model} · js-add`);
    expect(out.stderr).toContain(`wrote ${join(dir, 'results', 'model-bench.json')}`);

    const result = JSON.parse(await readFile(join(dir, 'results', 'model-bench.json'), 'utf8'));
    expect(result.tasks).toHaveLength(7);
    const [summary] = result.models;
    expect(summary).toMatchObject({ model, tasks: 7, errors: 0, checked: 7, costUsd: null });
    for (const figure of ['passRate', 'latencyMs', 'ttftMs', 'tokensPerSecond', 'inputTokens', 'outputTokens']) {
      expect(Number.isFinite(summary[figure]), figure).toBe(true);
    }
    expect(summary.passRate).toBeGreaterThanOrEqual(0);
    expect(summary.passRate).toBeLessThanOrEqual(1);
    expect(summary.tokensPerSecond).toBeGreaterThan(0);
    for (const task of summary.results) {
      expect(task).toMatchObject({ answered: true, passed: expect.any(Boolean) });
      expect(Number.isFinite(task.latencyMs)).toBe(true);
    }

    const svg = await readFile(join(dir, 'results', 'model-bench.svg'), 'utf8');
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(
      true,
    );
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const title of ['pass rate', 'median latency (ms)', 'median time to first token (ms)', 'tokens per second']) {
      expect(svg).toContain(`>${title}<`);
    }
    // Latency, first token and tokens/s always have a bar; the pass rate has one unless it is 0 %, drawn 1 px wide.
    expect(svg.match(/<rect /g)?.length).toBe(5);
  }, 180_000);

  it('prices every model by --price-per-mtok (US dollars per million tokens)', async () => {
    await writeFile(join(dir, 'one.yaml'), 'tasks:\n  - id: hi\n    prompt: Hi.\n    max_output_tokens: 8\n');
    const model = `llamacpp/${modelPath}`;
    const out = await unity(['bench', 'models', '--models', model, '--tasks', 'one.yaml', '--json', '--out', 'priced']);
    expect(out.code, out.stderr).toBe(0);
    const unpriced = JSON.parse(out.stdout).models[0];
    expect(unpriced.costUsd).toBeNull();
    const priced = await unity([
      'bench',
      'models',
      '--models',
      model,
      '--tasks',
      'one.yaml',
      '--json',
      '--out',
      'priced',
      '--price-per-mtok',
      '1000000,2000000',
    ]);
    expect(priced.code, priced.stderr).toBe(0);
    const [summary] = JSON.parse(priced.stdout).models;
    expect(summary.costUsd).toBe(summary.inputTokens + 2 * summary.outputTokens);
    expect(summary.costUsd).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a task file naming the file, line, task index and field, without a stack trace, before any model runs', async () => {
    await writeFile(
      join(dir, 'tasks.yaml'),
      'tasks:\n  - id: ok\n    prompt: Hi.\n  - id: bad\n    prompt: Hi.\n    check: { type: regex, pattern: "(" }\n',
    );
    const out = await unity(['bench', 'models', '--models', `llamacpp/${modelPath}`, '--tasks', 'tasks.yaml']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/tasks\.yaml:6: tasks\.1\.check\.pattern: not a valid regular expression/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
    expect(out.stderr).not.toContain('[1/');
  });
});

describe('unity bench models without a model to run', () => {
  it('names a missing --tasks file and the fix', async () => {
    const out = await unity(['bench', 'models', '--models', 'qwen2.5-coder:7b', '--tasks', 'nowhere.json']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('--tasks nowhere.json cannot be read: no such file');
    expect(out.stderr).toContain('Fix: give a JSON or YAML file');
  });

  it('refuses a malformed --price-per-mtok, and the old --price-per-1k with its new name', async () => {
    const malformed = await unity(['bench', 'models', '--models', 'x', '--price-per-mtok', '0.3']);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('expected IN,OUT: US dollars per million input and per million output tokens');
    const renamed = await unity(['bench', 'models', '--models', 'x', '--price-per-1k', '0.3,1.2']);
    expect(renamed.code).toBe(1);
    expect(renamed.stderr).toContain('--price-per-1k');
    expect(renamed.stderr).toContain('was renamed --price-per-mtok');
  });

  it('requires --models', async () => {
    const out = await unity(['bench', 'models']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("required option '--models <list>' not specified");
  });
});
