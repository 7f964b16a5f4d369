import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI, freePort, listening, seedSystemYaml } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const key = 'sk-evolve-test-0123456789';
const redisUrl = process.env.UNITY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const evalScript = `import { pathToFileURL } from 'node:url';
const m = await import(pathToFileURL(process.argv.at(-1)).href);
await new Promise((r) => setTimeout(r, Number(process.env.EVAL_DELAY_MS ?? 0)));
const score = Math.max(0, 100 - Math.abs(Number(m.value) - 42) * 2);
console.log(JSON.stringify({ score: Number.isFinite(score) ? score : 0, feedback: 'distance ' + Math.abs(m.value - 42) }));
`;
const baseline = 'export const value = 10;\n';

let cloud: FakeOpenAI;
let dir: string;
let configPath: string;
const cassette = () => join(dir, 'coder.cassette.jsonl');

/** The coding model's stand-in: moves `value` by a step derived from a hash of the request (so it can get worse). */
function coderReply(body: Record<string, unknown>): string {
  const messages = body.messages as Array<{ role: string; content: string }>;
  const prompt = messages.at(-1)?.content ?? '';
  if ((messages[0]?.content ?? '').includes('critic')) return 'Move value closer to 42.';
  const current = Number(/value = (-?\d+)/.exec(prompt)?.[1] ?? '0');
  const step = (createHash('sha256').update(JSON.stringify(body)).digest()[0] as number) % 15;
  const next = current + step - 6;
  if (prompt.includes('<<<<<<< SEARCH')) {
    return `<<<<<<< SEARCH\nexport const value = ${current};\n=======\nexport const value = ${next};\n>>>>>>> REPLACE`;
  }
  return `\`\`\`js\nexport const value = ${next};\n\`\`\``;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function unity(
  args: string[],
  env: Record<string, string> = {},
  onSpawn?: (child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onSpawn?.(child);
  });
}

const stableLines = (file: string) =>
  readFileSync(join(dir, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { ts: _ts, ms: _ms, ...rest } = JSON.parse(l);
      return rest;
    });

const common = ['--eval', 'node eval.mjs', '--seed', '5', '--concurrency', '2'];

beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: key });
  cloud.setDefault((request) => ({ text: coderReply(request.body) }));
  dir = await mkdtemp(join(tmpdir(), 'unity-evolve-'));
  configPath = join(dir, 'system.yaml');
  await writeFile(
    configPath,
    `cloud_llm:\n  enabled: true\n  provider: minimax\n  model: MiniMax-M2\n  fallback_to_local: false\n  base_url: ${cloud.baseURL}\nrouter:\n  retries:\n    max_retries: 0\ntextgrad:\n  local_only: false\n`,
  );
  await writeFile(join(dir, 'eval.mjs'), evalScript);
  await writeFile(join(dir, 'target.mjs'), baseline);
  for (const sub of ['fresh1', 'fresh2', 'fresh3', 'fresh4', 'fresh5', 'fresh6']) {
    await mkdir(join(dir, sub));
    await writeFile(join(dir, sub, 'target.mjs'), baseline);
  }
  // Record six generations through the router's coding role (the fake OpenAI server stands in for the model).
  const recorded = await unity(
    [
      'evolve',
      'target.mjs',
      ...common,
      '--generations',
      '6',
      '--config',
      configPath,
      '--cassette',
      cassette(),
      '--cassette-mode',
      'record',
      '--log',
      'recorded.jsonl',
      '--out',
      'recorded-best.mjs',
      '--json',
    ],
    { MINIMAX_API_KEY: key },
  );
  if (recorded.code !== 0) throw new Error(`recording failed: ${recorded.stderr}`);
}, 60_000);

afterAll(async () => {
  await cloud.close();
  await rm(dir, { recursive: true, force: true });
});

describe('unity evolve (built binary, replayed coder, real evaluator processes)', () => {
  it('records through the router’s coding role (the cloud, as textgrad.local_only: false allows), printing the summary as one JSON object with --json', async () => {
    expect(cloud.requests.length).toBeGreaterThan(10);
    const lines = stableLines('recorded.jsonl');
    expect(lines).toHaveLength(1 + 6 * 2);
    expect(readFileSync(join(dir, 'target.mjs'), 'utf8')).toBe(baseline);
    expect(readFileSync(join(dir, 'recorded-best.mjs'), 'utf8')).toMatch(/export const value = -?\d+;/);
  });

  it('replays without any model, reproduces the log, writes the best back and keeps the original', async () => {
    const run = await unity([
      'evolve',
      'target.mjs',
      ...common,
      '--generations',
      '4',
      '--cassette',
      cassette(),
      '--log',
      'replayed.jsonl',
    ]);
    expect(run.code).toBe(0);
    expect(stableLines('replayed.jsonl')).toEqual(stableLines('recorded.jsonl').slice(0, 1 + 4 * 2));
    expect(run.stdout).toMatch(/baseline 36\.00 → best \d+\.\d\d \(Δ \+\d+\.\d\d\)/);
    expect(run.stdout).toContain('strategy');
    expect(run.stdout).toMatch(/rewrite\s+\d+\s+\d\.\d{3}\s+\d+/);
    expect(run.stdout).toContain('original kept in target.mjs.orig');
    expect(readFileSync(join(dir, 'target.mjs.orig'), 'utf8')).toBe(baseline);
    expect(readFileSync(join(dir, 'target.mjs'), 'utf8')).not.toBe(baseline);
  });

  it('resumes from its log when rerun with more generations, ending with the uninterrupted run’s log', async () => {
    const run = await unity([
      'evolve',
      'target.mjs',
      ...common,
      '--generations',
      '6',
      '--cassette',
      cassette(),
      '--log',
      'replayed.jsonl',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ resumed: true, generations: 6, candidates: 13, baseline: 36 });
    expect(stableLines('replayed.jsonl')).toEqual(stableLines('recorded.jsonl'));
    expect(Object.keys(summary.strategies).sort()).toEqual(['crossover', 'diff', 'gradient', 'rewrite', 'simplify']);
  });

  it('ends on Ctrl-C with the best so far, exit status 130 and whole log lines', async () => {
    const run = await unity(
      [
        'evolve',
        'fresh1/target.mjs',
        ...common,
        '--generations',
        '6',
        '--cassette',
        cassette(),
        '--log',
        'interrupted.jsonl',
        '--out',
        'partial.mjs',
      ],
      { EVAL_DELAY_MS: '400' },
      (child) => {
        const timer = setInterval(() => {
          const log = join(dir, 'interrupted.jsonl');
          if (existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 3) {
            clearInterval(timer);
            child.kill('SIGINT');
          }
        }, 50);
      },
    );
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('stopped: aborted');
    const lines = stableLines('interrupted.jsonl');
    expect(lines.length).toBeLessThan(13);
    expect(lines).toEqual(stableLines('recorded.jsonl').slice(0, lines.length));
  });

  it('fails with CASSETTE_MISS and its fix, without a stack trace, when the replay lacks a reply', async () => {
    const run = await unity([
      'evolve',
      'fresh2/target.mjs',
      ...common,
      '--seed',
      '6',
      '--cassette',
      cassette(),
      '--log',
      'miss.jsonl',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('has no reply for this coder request');
    expect(run.stderr).toContain('Fix: record the cassette again');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 naming the cause when every candidate failed (a coder that never answers)', async () => {
    await mkdir(join(dir, 'down'), { recursive: true });
    await writeFile(join(dir, 'down', 'target.mjs'), baseline);
    const down = join(dir, 'down.yaml');
    await writeFile(
      down,
      `cloud_llm:\n  enabled: true\n  provider: minimax\n  model: MiniMax-M2\n  fallback_to_local: false\n  base_url: http://127.0.0.1:${await freePort()}/v1\nrouter:\n  retries:\n    max_retries: 0\n`,
    );
    const run = await unity(
      [
        'evolve',
        'down/target.mjs',
        ...common,
        '--generations',
        '1',
        '--config',
        down,
        '--log',
        'down.jsonl',
        '--allow-cloud',
      ],
      { MINIMAX_API_KEY: key },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/every candidate of this run failed \(\d+\); the most common error \(\d+×\):\n/);
    expect(run.stderr).toContain('CONNECTION_FAILED');
    expect(run.stderr).toContain('generation 1/1: best');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('gives the evaluator only the variables tools.env_passthrough names, never the rest of the caller’s', async () => {
    await writeFile(join(dir, 'passthrough.yaml'), 'tools:\n  env_passthrough: [EVOLVE_TEST_SCORE]\n');
    const args = (config: string[], log: string) => [
      'evolve',
      'target.mjs',
      '--eval',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion for the evaluator's shell
      'echo "${EVOLVE_TEST_SCORE:-0}$EVOLVE_TEST_API_URL" #',
      '--generations',
      '0',
      '--cassette',
      cassette(),
      '--log',
      log,
      '--json',
      ...config,
    ];
    const env = { EVOLVE_TEST_SCORE: '77', EVOLVE_TEST_API_URL: '' };
    const passed = await unity(args(['--config', 'passthrough.yaml'], 'env-passed.jsonl'), env);
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({ baseline: 77, best: 77 });
    const withheld = await unity(args([], 'env-withheld.jsonl'), env);
    expect(JSON.parse(withheld.stdout)).toMatchObject({ baseline: 0, best: 0 });
  });

  it('prices the coder’s tokens with --price-per-1k and stops at --max-cost-usd', async () => {
    const run = await unity([
      'evolve',
      'fresh4/target.mjs',
      ...common,
      '--generations',
      '6',
      '--cassette',
      cassette(),
      '--log',
      'priced.jsonl',
      '--out',
      'priced.mjs',
      '--price-per-1k',
      '1000,1000',
      '--max-cost-usd',
      '0.5',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.stopReason).toBe('budget_cost');
    expect(summary.costUsd).toBeGreaterThanOrEqual(0.5);
    expect(summary.costUsd).toBe(summary.tokens);
  });

  it('stops at --max-total-tokens with the same stop reason as unity run', async () => {
    const run = await unity([
      'evolve',
      'fresh6/target.mjs',
      ...common,
      '--generations',
      '6',
      '--cassette',
      cassette(),
      '--log',
      'tokens.jsonl',
      '--out',
      'tokens.mjs',
      '--max-total-tokens',
      '1',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.stopReason).toBe('budget_tokens');
    expect(summary.tokens).toBeGreaterThanOrEqual(1);
  });

  it('refuses --max-cost-usd without --price-per-1k, a malformed price and the old flag names, naming the fix', async () => {
    const unpriced = await unity(['evolve', 'target.mjs', '--eval', 'x', '--max-cost-usd', '1']);
    expect(unpriced.code).toBe(1);
    expect(unpriced.stderr).toContain('--max-cost-usd needs --price-per-1k');
    expect(unpriced.stderr).toContain('Fix: add --price-per-1k IN,OUT');
    const malformed = await unity(['evolve', 'target.mjs', '--eval', 'x', '--price-per-1k', '0.3']);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('expected IN,OUT');
    const renamed = await unity(['evolve', 'target.mjs', '--eval', 'x', '--budget-cost', '1']);
    expect(renamed.code).toBe(1);
    expect(renamed.stderr).toContain('--budget-cost was renamed --max-cost-usd');
  });

  it('prints the summary, then fails naming the path and where the best variant is, when --out cannot be written', async () => {
    const args = [
      'evolve',
      'fresh5/target.mjs',
      ...common,
      '--generations',
      '4',
      '--cassette',
      cassette(),
      '--log',
      'unwritable.jsonl',
      '--out',
      'no-such-folder/best.mjs',
    ];
    const run = await unity(args);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/baseline 36\.00 → best \d+\.\d\d/);
    expect(run.stdout).toContain('could not write the best variant (see the error below)');
    expect(run.stderr).toMatch(
      /could not write the best variant \(candidate \S+, score \d+\.\d\d\) to no-such-folder\/best\.mjs/,
    );
    expect(run.stderr).toContain('ENOENT');
    expect(run.stderr).toContain('Fix: it is saved in unwritable.candidates.jsonl');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    await mkdir(join(dir, 'no-such-folder'));
    const rerun = await unity(args);
    expect(rerun.code).toBe(0);
    expect(readFileSync(join(dir, 'no-such-folder/best.mjs'), 'utf8')).toMatch(/export const value = -?\d+;/);
  });

  it('names the bad value of --strategies, a missing file, and a run with nothing to score it', async () => {
    const strategies = await unity(['evolve', 'target.mjs', '--eval', 'x', '--strategies', 'rewrite,magic']);
    expect(strategies.code).toBe(1);
    expect(strategies.stderr).toContain('unknown strategy "magic"');
    expect(strategies.stderr).toContain('rewrite, diff, gradient, crossover, simplify');
    const missing = await unity(['evolve', 'nope.mjs', '--eval', 'x']);
    expect(missing.stderr).toContain('nope.mjs: no such file');
    const noEval = await unity(['evolve', 'target.mjs']);
    expect(noEval.code).toBe(1);
    expect(noEval.stderr).toContain('nothing scores the candidates: give --eval <command>, --judge [model], or both');
    expect(noEval.stderr).toContain('Fix: add --eval');
  });
});

/** The seed's configs/system.yaml verbatim, plus the two addresses that point it at the fakes. */
const seedConfig = (cloudUrl: string, ollamaHost: string, extra = '') =>
  seedSystemYaml({ cloudBaseUrl: cloudUrl, extra: `\nollama:\n  host: ${ollamaHost}\n${extra}` });

/** The judge's stand-in: scores `value` by its distance from 42 (half the evaluator's slope), with feedback. */
function judgeReply(body: Record<string, unknown>): string | undefined {
  const messages = body.messages as Array<{ role: string; content: string }>;
  if (!(messages[0]?.content ?? '').includes('strict reviewer')) return undefined;
  const value = Number(/value = (-?\d+)/.exec(messages.at(-1)?.content ?? '')?.[1]);
  return JSON.stringify({ score: Math.max(0, 100 - Math.abs(value - 42)), feedback: `judge: move ${42 - value}` });
}

describe('unity evolve with the seed’s config (local first, LLM judge)', () => {
  let seedCloud: FakeOpenAI;
  let ollama: FakeOllama;
  let seedPath: string;
  const ollamaChats = () => ollama.requestsTo('/api/chat');
  const judgeChats = () =>
    ollamaChats().filter((r) =>
      ((r.body as { messages: { content: string }[] }).messages[0]?.content ?? '').includes('strict reviewer'),
    );

  beforeAll(async () => {
    seedCloud = await FakeOpenAI.start({ apiKey: key });
    seedCloud.setDefault((request) => ({ text: judgeReply(request.body) ?? coderReply(request.body) }));
    ollama = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, { name: 'llama3.2:1b' }] });
    ollama.setDefault((request) => ({ text: judgeReply(request.body) ?? coderReply(request.body) }));
    seedPath = join(dir, 'seed.yaml');
    await writeFile(seedPath, seedConfig(seedCloud.baseURL, ollama.host));
    for (const sub of ['seed1', 'seed2', 'seed3', 'seed4', 'seed5', 'seed6']) {
      await mkdir(join(dir, sub));
      await writeFile(join(dir, sub, 'target.mjs'), baseline);
    }
  });

  afterAll(async () => {
    await Promise.all([seedCloud.close(), ollama.close()]);
  });

  const seedRun = (sub: string, extra: string[], config = seedPath) =>
    unity(
      [
        'evolve',
        `${sub}/target.mjs`,
        '--seed',
        '5',
        '--concurrency',
        '2',
        '--generations',
        '1',
        '--config',
        config,
        '--log',
        `${sub}.jsonl`,
        '--out',
        `${sub}-best.mjs`,
        ...extra,
      ],
      { MINIMAX_API_KEY: key },
    );

  it('sends the coder to the local model only: 0 requests to the cloud, the rest to Ollama', async () => {
    seedCloud.reset();
    ollama.reset();
    const run = await seedRun('seed1', ['--eval', 'node eval.mjs', '--json']);
    expect(run.code).toBe(0);
    expect(seedCloud.requests).toHaveLength(0);
    expect(ollamaChats().length).toBeGreaterThanOrEqual(1);
    expect(ollamaChats().every((r) => (r.body as { model: string }).model === 'qwen2.5-coder:7b')).toBe(true);
    expect(JSON.parse(run.stdout)).toMatchObject({ baseline: 36, candidates: 3, failures: 0 });
  });

  it('lets the coder try the cloud first with --allow-cloud', async () => {
    seedCloud.reset();
    ollama.reset();
    const run = await seedRun('seed2', ['--eval', 'node eval.mjs', '--allow-cloud', '--json']);
    expect(run.code).toBe(0);
    expect(seedCloud.requestsTo('/chat/completions').length).toBeGreaterThanOrEqual(1);
    expect(ollamaChats()).toHaveLength(0);
  });

  it('scores with the LLM judge alone through the local model, keeping its feedback', async () => {
    seedCloud.reset();
    ollama.reset();
    const run = await seedRun('seed3', ['--judge', '--json']);
    expect(run.code).toBe(0);
    expect(seedCloud.requests).toHaveLength(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ baseline: 68, scoring: { judge: 1 }, failures: 0 });
    expect(judgeChats()).toHaveLength(3);
    expect((judgeChats()[0]?.body as { format?: unknown } | undefined)?.format).toMatchObject({
      required: ['score', 'feedback'],
    });
    const texts = readFileSync(join(dir, 'seed3.candidates.jsonl'), 'utf8');
    expect(texts).toContain('"feedback":"judge: move 32"');
  });

  it('combines --eval and --judge by --judge-weight, printing both parts', async () => {
    seedCloud.reset();
    ollama.reset();
    const run = await seedRun('seed4', ['--eval', 'node eval.mjs', '--judge', '--judge-weight', '0.25']);
    expect(run.code).toBe(0);
    expect(seedCloud.requests).toHaveLength(0);
    // baseline: 0.75 × 36 (eval) + 0.25 × 68 (judge) = 44
    expect(run.stdout).toMatch(/^baseline 44\.00 → best \d+\.\d\d/);
    expect(run.stdout).toMatch(/scores: eval 36\.00 → \d+\.\d\d \(× 0\.75\) · judge 68\.00 → \d+\.\d\d \(× 0\.25\)/);
    expect(run.stderr).toMatch(
      /generation 1\/1: best \d+\.\d\d \(Δ [+-]\d+\.\d\d\) \[eval \d+\.\d\d, judge \d+\.\d\d\]/,
    );
    const lines = readFileSync(join(dir, 'seed4.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ score: 44, parts: { eval: 36, judge: 68 } });
    const scored = lines.filter((l) => l.score !== null);
    for (const line of scored) expect(line.score).toBeCloseTo(0.75 * line.parts.eval + 0.25 * line.parts.judge);
    expect(judgeChats()).toHaveLength(scored.length);
  });

  it('sends the judge to the model --judge names, a bare Ollama name, and the coder to its own', async () => {
    ollama.reset();
    const run = await seedRun('seed5', ['--judge', 'llama3.2:1b', '--json']);
    expect(run.code).toBe(0);
    const models = (requests: typeof ollama.requests) =>
      new Set(requests.map((r) => (r.body as { model: string }).model));
    expect(models(judgeChats())).toEqual(new Set(['llama3.2:1b']));
    expect(models(ollamaChats().filter((r) => !judgeChats().includes(r)))).toEqual(new Set(['qwen2.5-coder:7b']));
  });

  it('records the judge’s replies with the coder’s, and replays both without any model', async () => {
    const judgeCassette = join(dir, 'judge.cassette.jsonl');
    const args = (mode: string) => [
      '--eval',
      'node eval.mjs',
      '--judge',
      '--cassette',
      judgeCassette,
      '--cassette-mode',
      mode,
      '--json',
    ];
    const recorded = await seedRun('seed6', args('record'));
    expect(recorded.code).toBe(0);
    const scopes = readFileSync(judgeCassette, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).scope);
    expect(new Set(scopes)).toEqual(new Set(['coder', 'judge']));
    await ollama.close();
    const down = join(dir, 'seed-down.yaml');
    await writeFile(
      down,
      seedConfig(`http://127.0.0.1:${await freePort()}/v1`, `http://127.0.0.1:${await freePort()}`),
    );
    await writeFile(join(dir, 'seed6', 'target.mjs'), baseline);
    const replayed = await unity([
      'evolve',
      'seed6/target.mjs',
      '--seed',
      '5',
      '--concurrency',
      '2',
      '--generations',
      '1',
      '--config',
      down,
      '--log',
      'seed6-replayed.jsonl',
      '--out',
      'seed6-replayed.mjs',
      ...args('replay'),
    ]);
    expect(replayed.code).toBe(0);
    const stable = (file: string) => stableLines(file);
    expect(stable('seed6-replayed.jsonl')).toEqual(stable('seed6.jsonl'));
    expect(JSON.parse(replayed.stdout).bestParts).toEqual(JSON.parse(recorded.stdout).bestParts);
  });

  it('names the file, line and field of a bad textgrad: value', async () => {
    const bad = join(dir, 'bad-textgrad.yaml');
    await writeFile(
      bad,
      seedConfig(seedCloud.baseURL, 'http://127.0.0.1:1', 'textgrad:\n  model_judge: olama/qwen2.5-coder:7b\n'),
    );
    const run = await unity(['evolve', 'target.mjs', '--judge', '--config', bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${bad}:26: textgrad.model_judge: unknown provider "olama" in "olama/qwen2.5-coder:7b"`,
    );
    expect(run.stderr).toContain('Fix: use one of: minimax, openai, ollama_chat, ollama, llamacpp');
    await writeFile(bad, 'textgrad:\n  local_only: "yes"\n');
    const typed = await unity(['evolve', 'target.mjs', '--judge', '--config', bad]);
    expect(typed.stderr).toContain(`${bad}:2: textgrad.local_only: expected boolean, got "yes"`);
    expect(typed.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('unity evolve-worker', () => {
  it('exits 1 naming the URL and the fix when Redis cannot be reached', async () => {
    const run = await unity(['evolve-worker', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
    expect(run.stderr).toContain('Fix: start Redis');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

const redisUp = await listening(redisUrl, 6379);
if (!redisUp) console.warn(`evolve.test.ts: skipping the --redis test: nothing listens at ${redisUrl}`);

describe.skipIf(!redisUp)('unity evolve --redis with unity evolve-worker', () => {
  it('has the evaluations run by a worker process and reproduces the local run’s log', async () => {
    const queue = `cli-test-${process.pid}-${Date.now()}`;
    const worker = spawn(process.execPath, [bin, 'evolve-worker', '--redis', redisUrl, '--queue', queue], {
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let workerOut = '';
    worker.stdout.on('data', (d) => (workerOut += d));
    try {
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (workerOut.includes('waiting for evaluations')) {
            clearInterval(timer);
            resolve();
          }
        }, 50);
      });
      const run = await unity([
        'evolve',
        'fresh3/target.mjs',
        ...common,
        '--generations',
        '3',
        '--cassette',
        cassette(),
        '--log',
        'distributed.jsonl',
        '--out',
        'distributed.mjs',
        '--redis',
        redisUrl,
        '--queue',
        queue,
      ]);
      expect(run.code).toBe(0);
      expect(stableLines('distributed.jsonl')).toEqual(stableLines('recorded.jsonl').slice(0, 1 + 3 * 2));
      expect(workerOut).toContain('evaluating baseline');
      expect(workerOut).toMatch(/3-1: score \d+\.\d\d/);
    } finally {
      worker.kill('SIGTERM');
    }
  }, 60_000);

  it('exits with the config error instead of hanging on its open Redis connections', async () => {
    let killed = false;
    const run = await unity(
      ['evolve', 'target.mjs', '--eval', 'node eval.mjs', '--redis', redisUrl, '--config', 'missing.yaml'],
      {},
      (child) => {
        const timer = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, 20_000);
        child.on('close', () => clearTimeout(timer));
      },
    );
    expect(killed).toBe(false);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('missing.yaml');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
