import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatRequestInfo, FakeOllama, FakeOpenAI, type Step } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `unity ask --model ensemble/<name>`: the built CLI asks an ensemble of the config, against fake upstreams.
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const key = 'sk-ask-ensemble-0123456789abcdef';

let cloud: FakeOpenAI;
let ollama: FakeOllama;
let dir: string;
let configPath: string;

const byModel =
  (steps: Record<string, Step>) =>
  (request: ChatRequestInfo): Step =>
    steps[String(request.body.model)] ?? { text: `unscripted ${String(request.body.model)}` };

beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: key });
  ollama = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, { name: 'llama3.2:1b' }] });
  cloud.setDefault(byModel({ 'MiniMax-M2': { text: 'The answer is 42.' } }));
  ollama.setDefault(byModel({ 'qwen2.5-coder:7b': { text: 'Answer: 42' }, 'llama3.2:1b': { text: 'Maybe 41' } }));
  dir = await mkdtemp(join(tmpdir(), 'unity-ask-ensemble-'));
  configPath = join(dir, 'system.yaml');
  await writeFile(
    configPath,
    [
      'cloud_llm:',
      '  provider: minimax',
      '  model: MiniMax-M2',
      '  fallback_to_local: false',
      `  base_url: ${cloud.baseURL}`,
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  coding: ollama_chat/llama3.2:1b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'ollama:',
      `  host: ${ollama.host}`,
      'router:',
      '  retries: { max_retries: 0 }',
      'ensembles:',
      '  maths:',
      '    members: [minimax/MiniMax-M2, reasoning, coding]',
      '    strategy: vote',
      '    extract: last_number',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await Promise.all([cloud.close(), ollama.close(), rm(dir, { recursive: true, force: true })]);
});

function unity(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, MINIMAX_API_KEY: key },
      cwd: dir,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end('');
  });
}

describe('unity ask --model ensemble/<name>', () => {
  it('prints the ensemble’s answer, and on stderr how it decided', async () => {
    const run = await unity(['ask', 'what is 6 × 7?', '--config', configPath, '--model', 'ensemble/maths']);
    expect(run.stderr).toBe('unity: ensemble/maths (vote): "42" won 2 of 3 votes\n');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('The answer is 42.\n');
  }, 60_000);

  it('prints the whole trace with --json', async () => {
    const run = await unity(['ask', '6 × 7?', '--config', configPath, '--model', 'ensemble/maths', '--json']);
    expect(run.code).toBe(0);
    const response = JSON.parse(run.stdout);
    expect(response.ensemble).toMatchObject({
      name: 'maths',
      strategy: 'vote',
      decision: { winner: '42', votes: 2, answers: 3 },
      members: [
        { member: 'minimax/MiniMax-M2', status: 'answered', extracted: '42' },
        { member: 'reasoning', model: 'ollama_chat/qwen2.5-coder:7b', extracted: '42' },
        { member: 'coding', model: 'ollama_chat/llama3.2:1b', extracted: '41' },
      ],
    });
  }, 60_000);

  it('exits 1 with the fix when the ensemble is not in the config', async () => {
    const run = await unity(['ask', '?', '--config', configPath, '--model', 'ensemble/nope']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('model "ensemble/nope" names no ensemble of the config; known: ensemble/maths');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
