// The gateway's overhead, in one run against the test kit's fake OpenAI server: the fake called directly, a bare Node
// proxy (node:http + undici, forwarding the body and streaming the answer back: the floor for any Node gateway), and
// the unity gateway (`startServer`, the code behind `unity serve`, with the real router). The proxy and the gateway
// each run in a child process of their own, so that their CPU time and memory can be read; the fake and the load
// generator share this process. Figures: requests/s at 50 concurrent connections, added p50 latency per request,
// added time to the first streamed byte, server CPU per request, and memory under 1,000 concurrent slow streams —
// the goals of issue #17, each against the bare proxy in the same run.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeOpenAI, freePort } from '@unity/test-kit';
import { Agent, request } from 'undici';
import { goal, median } from './lib/measure';

const portkeyVersion = '1.15.2';
/** Every server this bench started: stopped when it exits, whichever way. */
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM');
});

const childMode = process.argv.find((a) => a.startsWith('--child='))?.slice('--child='.length);
if (childMode) await runChild(childMode, process.argv[process.argv.length - 1] as string);
else await runParent();

/** A child server: prints `READY <origin>`, answers `cpu` messages with its process.cpuUsage(). */
async function runChild(mode: string, upstream: string): Promise<void> {
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.(process.cpuUsage());
    if (message === 'rss') process.send?.(process.memoryUsage().rss);
  });
  if (mode === 'proxy') {
    const origin = new URL(upstream).origin;
    const dispatcher = new Agent({ connections: 128, pipelining: 1 });
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        request(`${origin}${req.url}`, {
          method: req.method as 'POST',
          headers: {
            'content-type': req.headers['content-type'] ?? 'application/json',
            authorization: req.headers.authorization ?? '',
          },
          body: Buffer.concat(chunks),
          dispatcher,
        }).then(
          ({ statusCode, headers, body }) => {
            const forwarded: Record<string, string> = {};
            for (const [k, v] of Object.entries(headers)) {
              if (typeof v === 'string' && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') {
                forwarded[k] = v;
              }
            }
            res.writeHead(statusCode, forwarded);
            body.on('data', (c: Buffer) => res.write(c));
            body.on('end', () => res.end());
            body.on('error', () => res.destroy());
            res.on('close', () => body.destroy());
          },
          () => {
            res.writeHead(502);
            res.end();
          },
        );
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => {
      process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
    });
    return;
  }
  if (mode === 'gateway-stub') {
    // The gateway layer alone: the same gateway over a stub router that answers at once (no upstream call), to
    // separate the gateway's own cost from the router's and its provider's.
    const { createGateway } = await import('@unity/gateway');
    const target = { provider: 'openai', model: 'openai/MiniMax-M2' };
    const response = {
      content: 'echo: hello there',
      toolCalls: [],
      provider: 'openai',
      model: 'MiniMax-M2',
      usage: { inputTokens: 2, outputTokens: 3, totalTokens: 5 },
      attempts: [{ ...target, ok: true, ms: 0 }],
      finishReason: 'stop' as const,
    };
    class StubRouter extends EventEmitter {
      async chat() {
        this.emit('attempt-start', target);
        return response;
      }
      async *stream() {
        this.emit('attempt-start', target);
        yield { type: 'text-delta' as const, text: 'echo: ' };
        yield { type: 'text-delta' as const, text: 'hello there' };
        yield { type: 'finish' as const, response };
      }
    }
    const gateway = createGateway({ router: new StubRouter(), models: [{ id: 'unity', route: {}, local: false }] });
    process.stdout.write(`READY ${await gateway.listen({ port: 0 })}\n`);
    return;
  }
  // The gateway: `upstream` is the config file the parent wrote.
  const { startServer } = await import('@unity/gateway');
  const server = await startServer({ configPath: upstream, env: { BENCH_KEY: 'bench' }, port: 0 });
  process.stdout.write(`READY ${server.address}\n`);
}

function startChild(mode: string, upstream: string): Promise<{ child: ChildProcess; origin: string }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--conditions=@unity/source', '--import', 'tsx', self, `--child=${mode}`, upstream],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) resolve({ child, origin: match[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`${mode} child exited with ${code} before it was ready:\n${out}`)));
  });
}

function ask<T>(child: ChildProcess, what: 'cpu' | 'rss'): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send(what);
  });
}

async function cpuOf(child: ChildProcess): Promise<number> {
  const u = await ask<NodeJS.CpuUsage>(child, 'cpu');
  return u.user + u.system;
}

interface Target {
  name: string;
  url: string;
  model: string;
  child?: ChildProcess;
  /** The server's CPU time so far, in µs (children of this bench answer over IPC; Portkey is read from /proc). */
  cpu?: () => Promise<number>;
  headers?: Record<string, string>;
  /** False: JSON answers only (Portkey 1.15.2 fails every stream on Node 20: "TypeError: immutable" in its headers). */
  streams?: boolean;
}

/**
 * Portkey's gateway, the contender the issue names, when UNITY_BENCH_PORTKEY is set: installed once from the npm
 * registry into a temporary folder, started with `--headless`, pointed at the fake through its custom-host header.
 */
async function startPortkey(upstream: string): Promise<Target | undefined> {
  if (!process.env.UNITY_BENCH_PORTKEY) return undefined;
  const dir = join(tmpdir(), `unity-bench-portkey-${portkeyVersion}`);
  const script = join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (!existsSync(script)) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const installed = spawnSync(
      npm,
      [
        'install',
        '--prefix',
        dir,
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        `@portkey-ai/gateway@${portkeyVersion}`,
      ],
      { stdio: 'inherit' },
    );
    if (installed.status !== 0) throw new Error(`could not install @portkey-ai/gateway@${portkeyVersion}`);
  }
  const port = await freePort();
  const child = spawn(process.execPath, [script, `--port=${port}`, '--headless'], { stdio: 'ignore' });
  children.push(child);
  const origin = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    try {
      await request(`${origin}/`, { method: 'GET' }).then((r) => r.body.dump());
      break;
    } catch (error) {
      if (tries > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    name: `Portkey ${portkeyVersion}`,
    url: `${origin}/v1/chat/completions`,
    model: 'MiniMax-M2',
    child,
    cpu: async () => procCpuMicros(child.pid as number),
    headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstream },
    streams: false,
  };
}

/** A process's user + system CPU time in µs, from /proc (clock ticks of 10 ms). */
function procCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function runParent(): Promise<void> {
  const fake = await FakeOpenAI.start();
  const proxy = await startChild('proxy', fake.baseURL);
  const dir = mkdtempSync(join(tmpdir(), 'unity-gateway-bench-'));
  const configPath = join(dir, 'system.yaml');
  writeFileSync(
    configPath,
    [
      'cloud_llm:',
      '  provider: openai',
      '  model: MiniMax-M2',
      `  base_url: ${fake.baseURL}`,
      '  api_key_env: BENCH_KEY',
      '  fallback_to_local: false',
      // The default (256) protects a small machine; the slow-stream phase holds 1,000 at once.
      'server:',
      '  max_concurrent_requests: 2000',
      '',
    ].join('\n'),
  );
  const gateway = await startChild('gateway', configPath);
  const stub = await startChild('gateway-stub', '-');
  const portkey = await startPortkey(fake.baseURL);
  const targets: Target[] = [
    { name: 'direct (fake OpenAI)', url: `${fake.baseURL}/chat/completions`, model: 'MiniMax-M2' },
    { name: 'bare proxy', url: `${proxy.origin}/v1/chat/completions`, model: 'MiniMax-M2', child: proxy.child },
    { name: 'unity gateway', url: `${gateway.origin}/v1/chat/completions`, model: 'unity', child: gateway.child },
    {
      name: 'gateway, stub router',
      url: `${stub.origin}/v1/chat/completions`,
      model: 'unity',
      child: stub.child,
    },
    ...(portkey ? [portkey] : []),
  ];
  for (const t of targets) if (t.child && !t.cpu) t.cpu = () => cpuOf(t.child as ChildProcess);
  const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
  const bodyFor = (t: Target, stream: boolean) =>
    JSON.stringify({ model: t.model, stream, messages: [{ role: 'user', content: 'hello there' }] });
  const headers = { 'content-type': 'application/json', authorization: 'Bearer bench' };

  const once = async (t: Target, stream: boolean): Promise<{ total: number; firstByte: number }> => {
    const started = performance.now();
    const response = await request(t.url, {
      method: 'POST',
      headers: t.headers ? { ...headers, ...t.headers } : headers,
      body: bodyFor(t, stream),
      dispatcher,
    });
    if (response.statusCode !== 200)
      throw new Error(`${t.name}: HTTP ${response.statusCode} ${await response.body.text()}`);
    let firstByte = Number.NaN;
    for await (const _chunk of response.body) if (Number.isNaN(firstByte)) firstByte = performance.now() - started;
    return { total: performance.now() - started, firstByte };
  };

  // Warm up every path (JIT, connections, the router's provider).
  for (const t of targets) for (let i = 0; i < 200; i++) await once(t, t.streams !== false && i % 2 === 0);

  // 1. Throughput at 50 concurrent connections, three rounds in rotating order; server CPU over the same window.
  const rps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const cpuPerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const windowMs = 3_000;
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + round) % targets.length] as Target;
      const cpuBefore = t.cpu ? await t.cpu() : 0;
      let done = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (performance.now() - started < windowMs) {
            await once(t, false);
            done++;
          }
        }),
      );
      const elapsed = performance.now() - started;
      rps.get(t.name)?.push((done / elapsed) * 1000);
      if (t.cpu) cpuPerRequest.get(t.name)?.push(((await t.cpu()) - cpuBefore) / done);
    }
  }

  // 2. Latency and first byte, one request at a time, interleaved.
  const latency = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const firstByte = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < 400; round++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + round) % targets.length] as Target;
      latency.get(t.name)?.push((await once(t, false)).total);
      if (t.streams !== false) firstByte.get(t.name)?.push((await once(t, true)).firstByte);
    }
  }

  console.log(
    '\nunity gateway vs a bare Node proxy vs the fake OpenAI server directly (proxy and gateway: child processes)',
  );
  console.log(
    `${'contender'.padEnd(24)} ${'req/s @50'.padStart(10)} ${'p50 ms'.padStart(8)} ${'1st byte ms'.padStart(12)} ${'CPU µs/req'.padStart(11)}`,
  );
  for (const t of targets) {
    const cpu = cpuPerRequest.get(t.name) ?? [];
    console.log(
      `${t.name.padEnd(24)} ${median(rps.get(t.name) ?? [])
        .toFixed(0)
        .padStart(10)} ${median(latency.get(t.name) ?? [])
        .toFixed(3)
        .padStart(
          8,
        )} ${(firstByte.get(t.name)?.length ? median(firstByte.get(t.name) ?? []).toFixed(3) : '–').padStart(12)} ${(cpu.length ? median(cpu).toFixed(0) : '–').padStart(11)}`,
    );
  }
  const [direct, bare, unity, layer] = targets.map((t) => t.name) as [string, string, string, string];
  const m = (map: Map<string, number[]>, name: string) => median(map.get(name) ?? []);
  console.log('');
  const addedLatency = m(latency, unity) - m(latency, direct);
  const bareAddedLatency = m(latency, bare) - m(latency, direct);
  const addedFirstByte = m(firstByte, unity) - m(firstByte, direct);
  const bareAddedFirstByte = m(firstByte, bare) - m(firstByte, direct);
  console.log(
    `(bare proxy: +${bareAddedLatency.toFixed(3)} ms p50, +${bareAddedFirstByte.toFixed(3)} ms first byte, ${m(cpuPerRequest, bare).toFixed(0)} µs CPU per request; ` +
      `the gateway layer alone, over a stub router that makes no upstream call: ${m(cpuPerRequest, layer).toFixed(0)} µs CPU per request)`,
  );
  goal('gateway req/s ÷ bare proxy req/s', m(rps, unity) / m(rps, bare), 0.6, '×', 'higher');
  if (portkey) {
    goal(`gateway req/s ÷ ${portkey.name} req/s (same run)`, m(rps, unity) / m(rps, portkey.name), 5, '×', 'higher');
  } else {
    // Portkey 1.15.2 measured on this machine (issue #17): 1.3k–1.6k req/s; set UNITY_BENCH_PORTKEY=1 to run it here.
    goal('gateway req/s ÷ Portkey 1.15.2 (1,600 req/s measured here)', m(rps, unity) / 1600, 5, '×', 'higher');
  }
  goal('gateway server CPU per request', m(cpuPerRequest, unity), 100, ' µs');
  goal('gateway added p50 latency beyond the bare proxy', addedLatency - bareAddedLatency, 0.4, ' ms');
  goal('gateway added first byte beyond the bare proxy', addedFirstByte - bareAddedFirstByte, 0.5, ' ms');

  // 3. 1,000 concurrent slow streams through the gateway: each answer 20 chunks, 100 ms apart (2 s a stream).
  const words = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
  fake.setDefault((info) => (info.stream ? { text: words, chunkDelayMs: 100 } : { text: 'echo: hello there' }));
  const streams = 1_000;
  const slowDispatcher = new Agent({ connections: streams, pipelining: 1, keepAliveTimeout: 60_000 });
  const rssBefore = await ask<number>(gateway.child, 'rss');
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    ask<number>(gateway.child, 'rss').then((rss) => {
      rssPeak = Math.max(rssPeak, rss);
    });
  }, 100);
  const slowStarted = performance.now();
  const complete = await Promise.all(
    Array.from({ length: streams }, async () => {
      const response = await request(`${gateway.origin}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: bodyFor(targets[2] as Target, true),
        dispatcher: slowDispatcher,
      });
      const text = await response.body.text();
      return response.statusCode === 200 && text.includes('w19') && text.trimEnd().endsWith('data: [DONE]');
    }),
  );
  const slowMs = performance.now() - slowStarted;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, await ask<number>(gateway.child, 'rss'));
  const completed = complete.filter(Boolean).length;
  console.log(
    `\n${streams} concurrent slow streams (20 chunks, 100 ms apart) through the gateway: ${completed} complete in ${(slowMs / 1000).toFixed(1)} s; ` +
      `gateway RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB → peak ${(rssPeak / 2 ** 20).toFixed(0)} MB`,
  );
  goal('slow streams completed', completed, streams, '', 'higher');
  goal('gateway memory growth under 1,000 slow streams', (rssPeak - rssBefore) / 2 ** 20, 100, ' MB');
  await slowDispatcher.close();

  stub.child.kill('SIGTERM');
  proxy.child.kill('SIGTERM');
  gateway.child.kill('SIGTERM');
  portkey?.child?.kill('SIGTERM');
  await dispatcher.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
