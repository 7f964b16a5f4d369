import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeOllama, FakeOpenAI, listening } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const redisUrl = process.env.UNITY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await listening(redisUrl, 6379);
if (!redisUp)
  console.warn(`keys-redis.test.ts: skipping: nothing listens at ${redisUrl} (start Redis, as .ci/run does)`);

const prefix = `unity-cli-test:${process.pid}:${Date.now()}:`;
let cloud: FakeOpenAI;
let local: FakeOllama;
let dir: string;
let configPath: string;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-keys-redis-'));
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
      `  redis_url: ${redisUrl}`,
      `  redis_key_prefix: '${prefix}'`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  for (const server of servers) server.kill('SIGKILL');
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
  if (redisUp) await removeKeys(`${prefix}*`);
});

/** Delete this test's keys from the shared Redis: one EVAL in Redis's protocol, so as not to need a client here. */
function removeKeys(pattern: string): Promise<void> {
  const script = "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end";
  const args = ['EVAL', script, '0', pattern];
  const command = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const { hostname, port } = new URL(redisUrl);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) }, () => socket.write(command));
    socket.once('data', () => socket.end());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
}

const env = () => ({ PATH: process.env.PATH ?? '', HOME: dir, TEST_CLOUD_KEY: 'sk-test' });
const unity = (...args: string[]) => run(process.execPath, [bin, ...args, '--config', configPath], { env: env() });

/** Start a replica: `unity serve` on the same config. */
function serve(): Promise<string> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--config', configPath], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.push(child);
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

describe.skipIf(!redisUp)('unity keys and two unity serve replicas on Redis (built binary)', () => {
  it('a key the CLI creates in Redis works on both replicas, its rpm holds across them, and a revocation stops both', async () => {
    const created = JSON.parse((await unity('keys', 'create', '--name', 'team', '--rpm', '2', '--json')).stdout);
    const [a, b] = await Promise.all([serve(), serve()]);
    const chat = (url: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${created.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
      }).then((r) => r.status);
    expect([await chat(b), await chat(a), await chat(b)]).toEqual([200, 200, 429]);
    expect((await unity('keys', 'revoke', created.id)).stdout).toContain(`revoked ${created.id}`);
    expect([await chat(a), await chat(b)]).toEqual([401, 401]);
    const listed = JSON.parse((await unity('keys', 'list', '--json')).stdout);
    expect(listed).toMatchObject([{ id: created.id, status: 'revoked' }]);
  }, 60_000);
});
