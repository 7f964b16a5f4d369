// What Redis costs a request, in one run against the test kit's fake OpenAI server: the same gateway (`startServer`,
// the code behind `unity serve`) four ways, each in a child process of its own —
//   no Redis, the master key (no virtual-key checks): the baseline;
//   no Redis, a virtual key with an rpm limit and a budget (embedded store);
//   Redis, the master key (what replicas share on every request: nothing but the breaker channel; cache off);
//   Redis, the same virtual key (key lookup, admission and settlement: three Lua scripts against 127.0.0.1:6379).
// Figures: the median wall time of one request at a time (interleaved, so that drift on a shared machine hits every
// contender alike) and the added µs of each over the baseline. Needs Redis on 127.0.0.1:6379 (UNITY_BENCH_REDIS_URL).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeOpenAI, listening } from '@unity/test-kit';
import { Agent, request } from 'undici';
import { median } from './lib/measure';

const redisUrl = process.env.UNITY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const master = 'bench-master-key';
const benchPrefix = `unity-bench:${process.pid}:`;
const childConfig = process.argv.find((a) => a.startsWith('--child='))?.slice('--child='.length);
if (childConfig) {
  const { startServer } = await import('@unity/gateway');
  const server = await startServer({ configPath: childConfig, env: { BENCH_KEY: 'bench' }, port: 0 });
  process.stdout.write(`READY ${server.address}\n`);
} else {
  await runParent();
}

function startChild(configPath: string): Promise<{ child: ChildProcess; origin: string }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--conditions=@unity/source', '--import', 'tsx', self, `--child=${configPath}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) resolve({ child, origin: match[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`gateway child exited with ${code} before it was ready:\n${out}`)));
  });
}

/** Delete the run's keys from Redis (a Lua loop over SCAN, sent as one EVAL in Redis's protocol). */
function removeBenchKeys(): Promise<void> {
  const script =
    "local c = '0' repeat local r = redis.call('SCAN', c, 'MATCH', ARGV[1], 'COUNT', 1000) c = r[1] for _, k in ipairs(r[2]) do redis.call('DEL', k) end until c == '0'";
  const args = ['EVAL', script, '0', `${benchPrefix}*`];
  const command = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  const { hostname, port } = new URL(redisUrl);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) }, () => socket.write(command));
    socket.once('data', () => socket.end());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
}

async function runParent(): Promise<void> {
  if (!(await listening(redisUrl, 6379))) {
    console.log(`replicas benchmark skipped: nothing listens at ${redisUrl} (start Redis, as .ci/run does)`);
    return;
  }
  const fake = await FakeOpenAI.start();
  const dir = mkdtempSync(join(tmpdir(), 'unity-replicas-bench-'));
  const config = (name: string, redis: boolean) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      [
        'cloud_llm:',
        '  provider: openai',
        '  model: MiniMax-M2',
        `  base_url: ${fake.baseURL}`,
        '  api_key_env: BENCH_KEY',
        '  fallback_to_local: false',
        'server:',
        '  health_interval_seconds: 0',
        `  api_key: ${master}`,
        `  data_dir: ${join(dir, name)}`,
        ...(redis ? [`  redis_url: ${redisUrl}`, `  redis_key_prefix: '${benchPrefix}'`] : []),
        '',
      ].join('\n'),
    );
    return path;
  };
  const local = await startChild(config('local', false));
  const shared = await startChild(config('redis', true));
  const dispatcher = new Agent({ connections: 8, pipelining: 1, keepAliveTimeout: 60_000 });
  const call = async (origin: string, path: string, key: string, body: unknown) => {
    const response = await request(`${origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
      dispatcher,
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`${origin}${path}: HTTP ${response.statusCode} ${text}`);
    return JSON.parse(text) as { key?: string };
  };
  // The same limits on both: high enough never to refuse during the run.
  const keyBody = { name: 'bench', rpm: 1_000_000, tpm: 1_000_000_000, budget_usd: 1_000_000 };
  const localKey = (await call(local.origin, '/admin/keys', master, keyBody)).key as string;
  const sharedKey = (await call(shared.origin, '/admin/keys', master, keyBody)).key as string;
  const chat = { model: 'unity', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 16 };
  const contenders: Record<string, () => Promise<unknown>> = {
    'no Redis, master key': () => call(local.origin, '/v1/chat/completions', master, chat),
    'no Redis, virtual key': () => call(local.origin, '/v1/chat/completions', localKey, chat),
    'Redis, master key': () => call(shared.origin, '/v1/chat/completions', master, chat),
    'Redis, virtual key': () => call(shared.origin, '/v1/chat/completions', sharedKey, chat),
  };
  const names = Object.keys(contenders);
  for (let i = 0; i < 300; i++) for (const name of names) await contenders[name]?.();
  const times = new Map(names.map((n) => [n, [] as number[]]));
  for (let round = 0; round < 2_000; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length] as string;
      const started = performance.now();
      await contenders[name]?.();
      times.get(name)?.push(performance.now() - started);
    }
  }
  const base = median(times.get(names[0] as string) ?? []);
  console.log('\nthe same gateway without and with Redis, one request at a time (2 000 rounds, interleaved)');
  console.log(`${'contender'.padEnd(24)} ${'median ms'.padStart(10)} ${'added µs'.padStart(9)}`);
  for (const name of names) {
    const m = median(times.get(name) ?? []);
    console.log(`${name.padEnd(24)} ${m.toFixed(3).padStart(10)} ${((m - base) * 1000).toFixed(0).padStart(9)}`);
  }
  const m = (name: string) => median(times.get(name) ?? []);
  console.log(
    `\nRedis checks of a virtual key (lookup, admission, settlement) add ${((m('Redis, virtual key') - m('no Redis, virtual key')) * 1000).toFixed(0)} µs per request over the embedded store, ${((m('Redis, virtual key') - base) * 1000).toFixed(0)} µs over no checks at all`,
  );
  local.child.kill('SIGTERM');
  shared.child.kill('SIGTERM');
  await removeBenchKeys();
  await dispatcher.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
