// `unity run --report` and `unity evolve --report` as real processes (the built binary), reporting to a real gateway
// started here (the test kit's fakes behind it) with a master key; and to a port nothing listens on.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '@unity/gateway';
import type { RunSummary } from '@unity/gateway/run-report';
import { FakeOllama, FakeOpenAI, freePort, gatewayConfigYaml } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const bin = new URL('../bin/unity.js', import.meta.url).pathname;
const master = 'report-test-master-key';

let cloud: FakeOpenAI;
let local: FakeOllama;
let gateway: RunningServer;
let dir: string;
let root: string;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-report-'));
  const gatewayConfig = join(dir, 'gateway.yaml');
  await writeFile(gatewayConfig, gatewayConfigYaml({ cloudBaseUrl: cloud.baseURL, ollamaHost: local.host }));
  gateway = await startServer({
    configPath: gatewayConfig,
    port: 0,
    env: { TEST_CLOUD_KEY: 'sk-test', UNITY_API_KEY: master },
  });
  root = join(dir, 'work');
  await mkdir(root);
  await writeFile(join(root, 'notes.txt'), 'the answer is 42\n');
}, 30_000);
afterAll(async () => {
  await gateway?.shutdown({ drainTimeoutMs: 1_000 });
  await Promise.all([cloud?.close(), local?.close()]);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  cloud.reset();
  local.reset();
});

async function writeConfig(name: string, extra: string[] = []): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    [
      'cloud_llm:',
      '  provider: minimax',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      '  fallback_to_local: false',
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  coding: ollama_chat/qwen2.5-coder:7b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'ollama:',
      `  host: ${local.host}`,
      'diagnostics:',
      '  require_models: []',
      'convergence_warnings: [2]',
      'router:',
      '  retries: { max_retries: 0 }',
      'textgrad:',
      '  local_only: false',
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function unity(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, MINIMAX_API_KEY: 'sk-test', ...env },
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

async function runs(): Promise<RunSummary[]> {
  const response = await fetch(`${gateway.address}/api/runs`, { headers: { authorization: `Bearer ${master}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { runs: RunSummary[] }).runs;
}

const readNotes = { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }] };

describe('unity run --report', () => {
  it('reports the agent’s steps, tool calls and reminders to the gateway, with the key from UNITY_API_KEY', async () => {
    cloud.enqueue(readNotes, readNotes, { toolCalls: [{ name: 'list_files', arguments: {} }] }, { text: 'It is 42.' });
    const config = await writeConfig('run.yaml');
    const task = 'What do the notes say? (reported)';
    const out = await unity(['run', task, '--config', config, '--root', root, '--report', gateway.address], {
      UNITY_API_KEY: master,
    });
    expect(out.stderr).not.toContain('warning');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('It is 42.\n');
    const id = /reporting to \S+\/api\/runs\/(\S+)/.exec(out.stderr)?.[1];
    expect(id).toMatch(/^agent-/);
    const run = (await runs()).find((r) => r.id === id);
    expect(run).toMatchObject({
      kind: 'agent',
      title: task,
      reporter: 'master',
      status: 'stopped',
      stopReason: 'completed',
      dropped: 0,
      agent: { steps: 4, toolCalls: { read_file: 2, list_files: 1 }, reminders: 1 },
    });
  });

  it('reports to report.url with the key in the variable report.api_key_env names, and not with --no-report', async () => {
    const config = await writeConfig('run-report-url.yaml', [
      'report:',
      `  url: ${gateway.address}`,
      '  api_key_env: MY_GATEWAY_KEY',
    ]);
    cloud.enqueue({ text: 'from the config' });
    const reported = await unity(['run', 'configured report', '--config', config, '--root', root], {
      MY_GATEWAY_KEY: master,
    });
    expect(reported.code).toBe(0);
    expect((await runs()).map((r) => r.title)).toContain('configured report');

    cloud.enqueue({ text: 'not reported' });
    const quiet = await unity(['run', 'unreported run', '--config', config, '--root', root, '--no-report'], {
      MY_GATEWAY_KEY: master,
    });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('reporting to');
    expect((await runs()).map((r) => r.title)).not.toContain('unreported run');
  });

  it('finishes the run as usual when nothing listens at the report address, with one warning', async () => {
    const port = await freePort();
    cloud.enqueue(readNotes, { text: 'still answered' });
    const config = await writeConfig('run-refused.yaml');
    const started = Date.now();
    const out = await unity([
      'run',
      'report to nowhere',
      '--config',
      config,
      '--root',
      root,
      '--report',
      `http://127.0.0.1:${port}`,
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('still answered\n');
    const warnings = out.stderr.split('\n').filter((line) => line.startsWith('unity: warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`127.0.0.1:${port}`);
    expect(warnings[0]).toContain('ECONNREFUSED');
    expect(out.stderr).toContain('Fix: start it with `unity serve`');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses a report address that is not http(s), naming the fix, without a stack trace', async () => {
    const config = await writeConfig('run-bad-url.yaml');
    const out = await unity(['run', 'x', '--config', config, '--root', root, '--report', 'localhost:8787']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('cannot report runs to "localhost:8787"');
    expect(out.stderr).toContain('Fix: give the address `unity serve` prints');
    expect(out.stderr).not.toMatch(/\n\s+at /);
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('names the file, line and field of a bad report.url', async () => {
    const config = await writeConfig('run-bad-setting.yaml', ['report:', '  url: gateway:8787']);
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/run-bad-setting\.yaml:\d+: report\.url: expected the gateway's http\(s\) address/);
  });
});

/** The coder's stand-in: moves `value` by a step derived from a hash of the request. */
function coderReply(body: Record<string, unknown>): string {
  const messages = body.messages as Array<{ role: string; content: string }>;
  const prompt = messages.at(-1)?.content ?? '';
  if ((messages[0]?.content ?? '').includes('critic')) return 'Move value closer to 42.';
  const current = Number(/value = (-?\d+)/.exec(prompt)?.[1] ?? '0');
  const next = current + ((createHash('sha256').update(JSON.stringify(body)).digest()[0] as number) % 15) - 4;
  if (prompt.includes('<<<<<<< SEARCH')) {
    return `<<<<<<< SEARCH\nexport const value = ${current};\n=======\nexport const value = ${next};\n>>>>>>> REPLACE`;
  }
  return `\`\`\`js\nexport const value = ${next};\n\`\`\``;
}

describe('unity evolve --report', () => {
  it('reports the generations, scores and bandit arms to the gateway', async () => {
    cloud.setDefault((request) => ({ text: coderReply(request.body) }));
    await writeFile(
      join(dir, 'eval.mjs'),
      `import { pathToFileURL } from 'node:url';
const m = await import(pathToFileURL(process.argv.at(-1)).href);
console.log(Math.max(0, 100 - Math.abs(Number(m.value) - 42) * 2));
`,
    );
    await writeFile(join(dir, 'target.mjs'), 'export const value = 10;\n');
    const config = await writeConfig('evolve.yaml');
    const out = await unity(
      [
        'evolve',
        'target.mjs',
        '--eval',
        'node eval.mjs',
        '--generations',
        '2',
        '--concurrency',
        '2',
        '--config',
        config,
        '--log',
        'evolution.jsonl',
        '--out',
        'best.mjs',
        '--json',
        '--report',
        gateway.address,
      ],
      { UNITY_API_KEY: master },
    );
    expect(out.stderr).not.toContain('warning');
    expect(out.code).toBe(0);
    const summary = JSON.parse(out.stdout) as { generations: number; candidates: number; best: number };
    const id = /reporting to \S+\/api\/runs\/(\S+)/.exec(out.stderr)?.[1];
    const run = (await runs()).find((r) => r.id === id);
    expect(run).toMatchObject({
      kind: 'evolution',
      title: 'target.mjs',
      status: 'stopped',
      stopReason: 'generations',
      evolution: { generation: 2, candidates: summary.candidates, bestScore: summary.best },
    });
    expect(Object.keys(run?.evolution?.arms ?? {}).length).toBeGreaterThan(0);
    expect(run?.evolution?.scores).toHaveLength(summary.candidates);
  });
});
