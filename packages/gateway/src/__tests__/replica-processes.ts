// Gateway replicas as real processes for the replica tests: the test kit's fakes, a config per test under a Redis
// key prefix of its own, and `startReplicas` — the gateway's source through tsx, as `unity serve --config FILE` runs
// it — killed and cleaned up after each test.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI, gatewayConfigYaml } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { removeKeys, sharedRedisUrl, uniquePrefix } from './redis-servers';

const fixture = new URL('./fixtures/run-replica.ts', import.meta.url).pathname;
const repoRoot = new URL('../../../../', import.meta.url).pathname;

interface Replica {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

interface Answer {
  status: number;
  content: string;
  attempts: string | null;
  provider: string | null;
}

/** Register the fakes and the clean-up of a replica test file; returns what its tests use. */
export function useReplicaBed() {
  const bed = {} as { cloud: FakeOpenAI; local: FakeOllama };
  let dir = '';
  const children = new Set<ChildProcess>();
  const prefixes: string[] = [];

  beforeAll(async () => {
    bed.cloud = await FakeOpenAI.start();
    bed.local = await FakeOllama.start();
    dir = await mkdtemp(join(tmpdir(), 'unity-replicas-'));
  });
  afterAll(async () => {
    await Promise.all([bed.cloud.close(), bed.local.close(), rm(dir, { recursive: true, force: true })]);
  });
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    bed.cloud.reset();
    bed.cloud.setDefault((request) => ({ text: `echo: ${lastUserText(request.body)}` }));
    bed.local.reset();
    await Promise.all(prefixes.splice(0).map((prefix) => removeKeys(sharedRedisUrl, prefix)));
  });

  /** A config for replicas of one gateway: the fakes, one Redis under a prefix of this test's own. */
  async function replicaConfig(
    name: string,
    routerLines: string[] = [],
    server: Record<string, string | number> = {},
    redisUrl = sharedRedisUrl,
  ): Promise<string> {
    const prefix = uniquePrefix(name);
    prefixes.push(prefix);
    const path = join(dir, `${name}.yaml`);
    await writeFile(
      path,
      gatewayConfigYaml({
        cloudBaseUrl: bed.cloud.baseURL,
        ollamaHost: bed.local.host,
        routerLines,
        server: { redis_url: redisUrl, redis_key_prefix: `'${prefix}'`, ...server },
      }),
    );
    return path;
  }

  /** Start a replica and wait until it listens. */
  function startReplica(configPath: string, env: Record<string, string> = {}): Promise<Replica> {
    const child = spawn(process.execPath, ['--conditions=@unity/source', '--import', 'tsx', fixture, configPath], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', TEST_CLOUD_KEY: 'sk-test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) resolve({ child, url: match[1] as string, exited });
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      void exited.then((code) => reject(new Error(`replica exited (${code}) before listening:\n${stderr}`)));
    });
  }

  const startReplicas = (configPath: string, count = 3, env: Record<string, string> = {}) =>
    Promise.all(Array.from({ length: count }, () => startReplica(configPath, env)));

  return Object.assign(bed, { replicaConfig, startReplicas });
}

const lastUserText = (body: Record<string, unknown>) => {
  const messages = (body.messages ?? []) as { role: string; content: unknown }[];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
};

export async function chat(url: string, content: string, init: { stream?: boolean } = {}): Promise<Answer> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'unity', stream: init.stream ?? false, messages: [{ role: 'user', content }] }),
  });
  const text = await response.text();
  const answer = init.stream
    ? text
        .split('\n\n')
        .filter((frame) => frame.startsWith('data: {'))
        .map((frame) => JSON.parse(frame.slice(6)).choices?.[0]?.delta?.content ?? '')
        .join('')
    : response.ok
      ? ((JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '')
      : text;
  return {
    status: response.status,
    content: answer,
    attempts: response.headers.get('x-unity-attempts'),
    provider: response.headers.get('x-unity-provider'),
  };
}

export const metric = async (url: string, name: string) => {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1];
};

export const breakerState = async (url: string, provider: string) => {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return new RegExp(`unity_router_breaker_state\\{provider="${provider}"\\} (\\d)`).exec(metrics)?.[1];
};
