// Three gateway replicas as real processes on one Redis, behind no load balancer but the test itself: what one replica
// learns (an opened circuit, a cached answer) the others act on, and killing one loses only its own requests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI, gatewayConfigYaml } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisMissing, removeKeys, sharedRedisUrl, uniquePrefix } from '../__tests__/redis-servers';

const missing = await redisMissing();
if (missing) console.warn(`replicas.test.ts: skipping the replica tests: ${missing}`);

const fixture = new URL('../__tests__/fixtures/run-replica.ts', import.meta.url).pathname;
const repoRoot = new URL('../../../../', import.meta.url).pathname;

interface Replica {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

let cloud: FakeOpenAI;
let local: FakeOllama;
let dir: string;
const children = new Set<ChildProcess>();
const prefixes: string[] = [];

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-replicas-'));
});
afterAll(async () => {
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  cloud.reset();
  local.reset();
  await Promise.all(prefixes.splice(0).map((prefix) => removeKeys(sharedRedisUrl, prefix)));
});

/** A config for replicas of one gateway: the fakes, one Redis under a prefix of this test's own. */
async function replicaConfig(name: string, routerLines: string[] = [], server: Record<string, string | number> = {}) {
  const prefix = uniquePrefix(name);
  prefixes.push(prefix);
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    gatewayConfigYaml({
      cloudBaseUrl: cloud.baseURL,
      ollamaHost: local.host,
      routerLines,
      server: { redis_url: sharedRedisUrl, redis_key_prefix: `'${prefix}'`, ...server },
    }),
  );
  return path;
}

/** Start a replica (the gateway's source through tsx, as `unity serve --config FILE` runs it) and wait until it listens. */
function startReplica(configPath: string): Promise<Replica> {
  const child = spawn(process.execPath, ['--conditions=@unity/source', '--import', 'tsx', fixture, configPath], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', TEST_CLOUD_KEY: 'sk-test' },
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

const startReplicas = (configPath: string, count = 3) =>
  Promise.all(Array.from({ length: count }, () => startReplica(configPath)));

interface Answer {
  status: number;
  content: string;
  attempts: string | null;
  provider: string | null;
}

async function chat(url: string, content: string, init: { stream?: boolean } = {}): Promise<Answer> {
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

const breakerState = async (url: string, provider: string) => {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return new RegExp(`unity_router_breaker_state\\{provider="${provider}"\\} (\\d)`).exec(metrics)?.[1];
};

describe.skipIf(!!missing)('three gateway replicas on one Redis (real processes)', () => {
  it('skips a provider on every replica once one replica opened its circuit, sending it nothing more', async () => {
    const config = await replicaConfig('breaker', [
      '  breaker:',
      '    failure_threshold: 1',
      '    cooldown_seconds: 30',
    ]);
    const [a, b, c] = await startReplicas(config);
    cloud.enqueue({ fault: 'status', status: 503 });
    const first = await chat(a!.url, 'first');
    expect(first).toMatchObject({ status: 200, provider: 'ollama' });
    expect(await breakerState(a!.url, 'openai')).toBe('2');
    // Delivered through Redis pub/sub: B and C open the circuit without having sent the cloud anything.
    await expect
      .poll(() => Promise.all([breakerState(b!.url, 'openai'), breakerState(c!.url, 'openai')]))
      .toEqual(['2', '2']);
    for (const replica of [b!, c!, b!, c!]) {
      const answer = await chat(replica.url, 'next');
      expect(answer).toMatchObject({ status: 200, provider: 'ollama' });
      expect(answer.attempts).toMatch(/openai.*CIRCUIT_OPEN/);
    }
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('serves on replica B the answer replica A cached, without asking any upstream', async () => {
    const config = await replicaConfig('cache', ['  cache:', '    enabled: true', '    ttl_seconds: 60']);
    const [a, b, c] = await startReplicas(config);
    cloud.enqueue({ text: 'the cached answer' });
    expect(await chat(a!.url, 'same question')).toMatchObject({
      status: 200,
      content: 'the cached answer',
      provider: 'openai',
    });
    for (const replica of [b!, c!]) {
      const answer = await chat(replica.url, 'same question');
      expect(answer).toMatchObject({ status: 200, content: 'the cached answer', attempts: null });
    }
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(1);
    expect(local.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('loses nothing but the killed replica’s own in-flight requests when one is SIGKILLed mid-load', async () => {
    const config = await replicaConfig('kill');
    const replicas = await startReplicas(config);
    const words = Array.from({ length: 10 }, (_, i) => `w${i}`).join(' ');
    cloud.setDefault({ text: words, chunkDelayMs: 20 });
    const victim = replicas[2]!;
    let killed = false;
    let inFlightOnVictim = 0;
    let inFlightAtKill = -1;
    const results: { replica: number; ok: boolean; afterKill: boolean }[] = [];
    // Eight clients, each sending streaming requests round robin until 120 are done; C is killed a third in.
    let sent = 0;
    const client = async () => {
      while (sent < 120) {
        const index = sent++ % 3;
        const replica = replicas[index]!;
        if (index === 2) inFlightOnVictim++;
        const afterKill = killed;
        const ok = await chat(replica.url, `request ${sent}`, { stream: true }).then(
          (answer) => answer.status === 200 && answer.content === words,
          () => false,
        );
        if (index === 2) inFlightOnVictim--;
        results.push({ replica: index, ok, afterKill });
        if (!killed && results.length >= 40) {
          killed = true;
          inFlightAtKill = inFlightOnVictim;
          victim.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    await victim.exited;
    const survivors = results.filter((r) => r.replica !== 2);
    expect(survivors.length).toBeGreaterThan(70);
    expect(survivors.every((r) => r.ok)).toBe(true);
    // The victim's losses: what it held at the kill, and what was sent to it after (a load balancer's retry case).
    const lostInFlight = results.filter((r) => r.replica === 2 && !r.ok && !r.afterKill);
    expect(lostInFlight.length).toBeLessThanOrEqual(inFlightAtKill);
    expect(results.filter((r) => r.replica === 2 && r.afterKill).every((r) => !r.ok)).toBe(true);
  });
});
