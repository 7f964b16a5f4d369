import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeOllama, FakeOpenAI } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;

let cloud: FakeOpenAI;
let local: FakeOllama;
let dir: string;
let configPath: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-keys-cli-'));
  configPath = join(dir, 'system.yaml');
  await writeFile(
    configPath,
    [
      'cloud_llm:',
      '  provider: openai',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      '  api_key_env: TEST_CLOUD_KEY',
      'ollama:',
      `  host: ${local.host}`,
      'router:',
      '  retries:',
      '    max_retries: 0',
      'server:',
      '  health_interval_seconds: 0',
      `  data_dir: ${join(dir, 'data')}`,
      "  prices: {'openai/MiniMax-M2': {input_per_mtok: 1000, output_per_mtok: 1000}}",
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  server?.kill('SIGKILL');
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});

const env = () => ({ PATH: process.env.PATH ?? '', HOME: dir, TEST_CLOUD_KEY: 'sk-test' });
const unity = (...args: string[]) => run(process.execPath, [bin, ...args, '--config', configPath], { env: env() });

/** Start `unity serve` on the same config and wait for its listening line. */
function serve(): Promise<string> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--config', configPath], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  let stdout = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`unity serve exited (${code})`)));
  });
}

describe('unity keys (built binary) with unity serve', () => {
  it('creates a key shown once, which the running gateway accepts, until it is revoked; spend is listed', async () => {
    const created = await unity(
      'keys',
      'create',
      '--name',
      'ci',
      '--budget-usd',
      '10',
      '--rpm',
      '60',
      '--models',
      'unity,local',
      '--expires',
      '30d',
    );
    const key = created.stdout.trim();
    expect(key).toMatch(/^uk-[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown once');

    const listed = await unity('keys', 'list');
    expect(listed.stdout).toMatch(/key_[0-9a-f]{16}\s+ci\s+uk-\S+…\s+active\s+unity,local\s+60/);
    expect(listed.stdout).not.toContain(key);

    const url = await serve();
    const chat = (model: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
    const answer = (await (await chat('unity')).json()) as { choices: { message: { content: string } }[] };
    expect(answer.choices[0]?.message.content).toBe('echo: hi');
    expect((await chat('reasoning')).status).toBe(403);

    const id = /key_[0-9a-f]{16}/.exec(listed.stdout)?.[0] as string;
    // The CLI writes the database the running gateway reads: the revocation applies to its next request.
    expect((await unity('keys', 'revoke', id)).stdout).toContain(`revoked ${id}`);
    expect((await chat('unity')).status).toBe(401);

    // The gateway writes spend every second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const spend = JSON.parse((await unity('keys', 'spend', '--json')).stdout);
    expect(spend.by_key[id]).toMatchObject({ name: 'ci', requests: 1 });
    expect(spend.by_model['openai/MiniMax-M2'].cost_usd).toBeGreaterThan(0);
    expect((await unity('keys', 'spend')).stdout).toMatch(/openai\/MiniMax-M2\s+1\s/);
  }, 30_000);

  it('rotates a key: the new one is printed, the old one stops working', async () => {
    const created = JSON.parse((await unity('keys', 'create', '--name', 'rot', '--json')).stdout);
    const rotated = await unity('keys', 'rotate', created.id);
    expect(rotated.stdout.trim()).toMatch(/^uk-/);
    expect(rotated.stdout.trim()).not.toBe(created.key);
  });

  it('says what is wrong with a bad option or an unknown id, with status 1', async () => {
    const bad = await unity('keys', 'create', '--name', 'x', '--expires', 'soon').catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('expected a duration such as 30d');
    const unknown = await unity('keys', 'revoke', 'key_0000').catch((e) => e);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no key with the id key_0000');
  });
});
