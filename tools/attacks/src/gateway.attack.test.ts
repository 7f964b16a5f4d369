// The gateway under abuse (issue 12, "Gateway under abuse"): slow and idle sockets, floods past the concurrency caps,
// /ws oversized messages, flooding and forged events, secrets written into provider URLs and keys, deeply nested JSON,
// a chat without messages, and an oversized MCP message. Every attack runs against a real gateway listening on
// 127.0.0.1 (the real router behind it, the test kit's fake upstreams in front of the providers), over real sockets,
// with short limits so that each is cut quickly. Loops are bounded in count and time.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { type RunningServer, startServer } from '@unity/gateway';
import { FakeOllama, FakeOpenAI, gatewayConfigYaml } from '@unity/test-kit';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Gateway {
  url: string;
  port: number;
  cloud: FakeOpenAI;
  local: FakeOllama;
  server: RunningServer;
  dir: string;
  close(): Promise<void>;
}

interface GatewaySetup {
  /** The `server:` section. */
  server?: Record<string, number>;
  /** Rewrites the cloud base URL written into the config (to add credentials). */
  cloudUrl?: (url: string) => string;
  /** Extra `router:` lines (indented). */
  routerYaml?: string[];
  env?: Record<string, string>;
}

/** A real gateway over the fake upstreams, from a config file in a temp folder. */
async function startGateway(setup: GatewaySetup = {}): Promise<Gateway> {
  const cloud = await FakeOpenAI.start();
  const local = await FakeOllama.start();
  const dir = await mkdtemp(path.join(tmpdir(), 'unity-gateway-attack-'));
  const configPath = path.join(dir, 'system.yaml');
  await writeFile(
    configPath,
    gatewayConfigYaml({
      cloudBaseUrl: setup.cloudUrl ? setup.cloudUrl(cloud.baseURL) : cloud.baseURL,
      ollamaHost: local.host,
      ...(setup.routerYaml ? { routerLines: setup.routerYaml } : {}),
      ...(setup.server ? { server: setup.server } : {}),
    }),
  );
  const server = await startServer({
    configPath,
    port: 0,
    env: { TEST_CLOUD_KEY: 'sk-attack-default-key', ...setup.env },
  });
  return {
    url: server.address,
    port: Number(new URL(server.address).port),
    cloud,
    local,
    server,
    dir,
    async close() {
      await server.shutdown({ drainTimeoutMs: 1_000 });
      await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
    },
  };
}

/** How long any one attack may leave a socket open before the boundary counts as broken. */
const GUARD_MS = 5_000;

/** A raw TCP connection that records what comes back and settles when the server closes it (or the guard fires). */
async function rawSocket(
  port: number,
): Promise<{ socket: Socket; closed: Promise<{ closed: boolean; data: string }> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  socket.on('data', (chunk) => {
    data += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<{ closed: boolean; data: string }>((resolve) => {
    const guard = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, data });
    }, GUARD_MS);
    socket.once('close', () => {
      clearTimeout(guard);
      resolve({ closed: true, data });
    });
  });
  return { socket, closed };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const chatBody = (content: string, model = 'coding') =>
  JSON.stringify({ model, messages: [{ role: 'user', content }] });

const postChat = (url: string, body: string, pathname = '/v1/chat/completions') =>
  fetch(`${url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('slow and idle sockets', () => {
  let g: Gateway;
  beforeAll(async () => {
    // Idle timeout longer than the guard: a close within it is the header, body or keep-alive timeout's doing.
    g = await startGateway({
      server: {
        headers_timeout_seconds: 0.3,
        body_timeout_seconds: 0.4,
        keep_alive_timeout_seconds: 0.3,
        idle_timeout_seconds: 30,
      },
    });
  });
  afterAll(() => g.close());

  it('slowloris: headers that never complete are closed by the header timeout, before the key check', async () => {
    const { socket, closed } = await rawSocket(g.port);
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: a\r\n');
    const result = await closed;
    expect(result.closed).toBe(true);
    expect(result.data).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('slowloris: headers trickled a byte at a time are still closed by the header timeout', async () => {
    const { socket, closed } = await rawSocket(g.port);
    const header = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ${'a'.repeat(200)}`;
    let open = true;
    void closed.then(() => {
      open = false;
    });
    for (let i = 0; i < header.length && open; i++) {
      socket.write(header[i] ?? '');
      await sleep(50);
    }
    expect((await closed).closed).toBe(true);
  });

  it('a body that never completes is closed by the body timeout', async () => {
    const { socket, closed } = await rawSocket(g.port);
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"coding",',
    );
    const result = await closed;
    expect(result.closed).toBe(true);
    expect(result.data).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it('idle keep-alive sockets are closed after their response', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => rawSocket(g.port)));
    for (const { socket } of sockets)
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    const results = await Promise.all(sockets.map((s) => s.closed));
    expect(results.every((r) => r.closed && r.data.startsWith('HTTP/1.1 200'))).toBe(true);
  });
});

describe('floods past the concurrency caps', () => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway({
      server: { max_concurrent_requests: 4, max_concurrent_bodies: 2, body_timeout_seconds: 10 },
    });
  });
  afterAll(() => g.close());

  it('requests past max_concurrent_requests get 503 with Retry-After, and the gateway answers afterwards', async () => {
    g.cloud.setDefault(() => ({ text: 'held', delayMs: 600 }));
    const held = Array.from({ length: 4 }, (_, i) => postChat(g.url, chatBody(`held ${i}`)));
    await until(() => g.cloud.requestsTo('/chat/completions').length >= 4, 'four requests upstream');
    const flood = await Promise.all(Array.from({ length: 30 }, (_, i) => postChat(g.url, chatBody(`flood ${i}`))));
    expect(flood.every((r) => r.status === 503 && r.headers.get('retry-after') === '1')).toBe(true);
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    g.cloud.setDefault(() => ({ text: 'fresh' }));
    expect((await postChat(g.url, chatBody('after the flood'))).status).toBe(200);
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
  });

  it('bodies past max_concurrent_bodies get 503 while slow bodies are held', async () => {
    const slow = await Promise.all([rawSocket(g.port), rawSocket(g.port)]);
    for (const { socket } of slow) {
      socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n{');
    }
    let refused: Response | undefined;
    for (let i = 0; i < 100; i++) {
      refused = await postChat(g.url, chatBody('third body'));
      if (refused.status === 503) break;
      await sleep(10);
    }
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toBe('1');
    for (const { socket } of slow) socket.destroy();
    await Promise.all(slow.map((s) => s.closed));
    // The server sees the attackers leave a moment after they do: the gateway serves again once it has.
    let after = 0;
    for (let i = 0; i < 100 && after !== 200; i++) {
      after = (await postChat(g.url, chatBody('after the slow bodies'))).status;
      if (after !== 200) await sleep(20);
    }
    expect(after).toBe(200);
  });
});

/** A /ws client collecting events and its close code and reason. */
async function wsClient(url: string) {
  const events: Record<string, unknown>[] = [];
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  socket.onmessage = (m) => events.push(JSON.parse(String(m.data)) as Record<string, unknown>);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.onclose = (e) => resolve({ code: e.code, reason: e.reason });
  });
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error('no WebSocket'));
  });
  return { socket, events, closed };
}

/**
 * The dashboard page's own script, run in a VM with the smallest DOM it uses, fed `events` as if they came over /ws.
 * Returns what its provider table shows (name → state) and its request count.
 */
async function dashboardState(url: string, events: Record<string, unknown>[]) {
  const html = await (await fetch(`${url}/`)).text();
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
  interface Node {
    tag: string;
    children: Node[];
    textContent: string;
    className: string;
    tBodies: Node[];
    [k: string]: unknown;
  }
  const make = (tag: string): Node => {
    const node: Node = {
      tag,
      children: [],
      textContent: '',
      className: '',
      tBodies: [],
      appendChild: (c: Node) => node.children.push(c),
      insertBefore: (c: Node) => node.children.unshift(c),
      removeChild: (c: Node) => node.children.splice(node.children.indexOf(c), 1),
      setAttribute: () => {},
      get childNodes() {
        return node.children;
      },
      get firstChild() {
        return node.children[0];
      },
      get lastChild() {
        return node.children[node.children.length - 1];
      },
      set innerHTML(_v: string) {
        node.children = [];
      },
    };
    if (tag === 'table') node.tBodies = [make('tbody')];
    return node;
  };
  const nodes = new Map<string, Node>();
  const timers: (() => void)[] = [];
  let socket: { onmessage?: (m: { data: string }) => void } = {};
  runInNewContext(script, {
    document: {
      getElementById: (id: string) =>
        nodes.get(id) ?? nodes.set(id, make(id === 'providers' || id === 'requests' ? 'table' : 'div')).get(id),
      createElement: make,
    },
    location: { search: '', protocol: 'http:', host: '127.0.0.1' },
    URLSearchParams,
    WebSocket: function FakeSocket(this: typeof socket) {
      socket = this;
    },
    setTimeout: (fn: () => void) => timers.push(fn),
    // The spend panel's request: never answered here (this attack is about the event feed).
    fetch: () => new Promise(() => {}),
    Date,
    Math,
    JSON,
    String,
    Number,
    Object,
    isNaN,
  });
  for (const event of events) socket.onmessage?.({ data: JSON.stringify(event) });
  for (const run of timers.splice(0)) run();
  const rows = nodes.get('providers')?.tBodies[0]?.children ?? [];
  const providers = Object.fromEntries(rows.map((tr) => [tr.children[0]?.textContent, tr.children[1]?.textContent]));
  return { providers, requests: nodes.get('stat-requests')?.textContent };
}

describe('/ws flooding and forging', () => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway({
      server: {
        ws_max_message_bytes: 4096,
        ws_messages_per_second: 20,
        client_event_backlog: 50,
        ws_backlog_events: 100,
      },
    });
  });
  afterAll(() => g.close());

  it('a message over the size cap closes the connection (1009) and is never published', async () => {
    const attacker = await wsClient(g.url);
    attacker.socket.send(JSON.stringify({ type: 'client.huge', blob: 'x'.repeat(64 * 1024) }));
    expect((await attacker.closed).code).toBe(1009);
    expect(g.server.gateway.bus.recentClient().some((e) => e.type === 'client.huge')).toBe(false);
  });

  it('flooding past the rate limit closes the connection (1008) with the reason, and the gateway stays up', async () => {
    const attacker = await wsClient(g.url);
    for (let i = 0; i < 500; i++) attacker.socket.send(JSON.stringify({ type: 'client.flood', i }));
    const { code, reason } = await attacker.closed;
    expect(code).toBe(1008);
    expect(reason).toContain('rate limit');
    expect(g.server.gateway.bus.recentClient().filter((e) => e.type === 'client.flood').length).toBeLessThanOrEqual(21);
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
  });

  it('forged breaker, health and request events change neither the dashboard, /audit nor the server backlog', async () => {
    g.cloud.setDefault(() => ({ text: 'real answer' }));
    expect((await postChat(g.url, chatBody('a real request'))).status).toBe(200);
    const auditBefore = await (await fetch(`${g.url}/audit?limit=500`)).text();
    // Forge from many connections (each under its rate limit) so that the client ring wraps several times.
    const forged = [
      { type: 'client.breaker', provider: 'openai', to: 'open', state: 'open' },
      { type: 'client.health.change', provider: 'openai', status: 'fail' },
      { type: 'client.router.breaker', provider: 'ollama', to: 'open' },
      {
        type: 'client.request.end',
        id: 'forged',
        provider: 'openai',
        status: 500,
        attempts: [{ provider: 'openai', ok: false }],
      },
      { type: 'router.breaker', provider: 'openai', to: 'open' },
      { type: 'request.end', id: 'forged-2', provider: 'openai', status: 200 },
    ];
    for (let round = 0; round < 10; round++) {
      const attacker = await wsClient(g.url);
      for (let i = 0; i < 15; i++) attacker.socket.send(JSON.stringify(forged[i % forged.length]));
      await until(
        () => g.server.gateway.bus.recentClient().length >= Math.min(50, (round + 1) * 10),
        'the forged events',
      );
      attacker.socket.close();
      await attacker.closed;
    }
    const audit = await (await fetch(`${g.url}/audit?limit=500`)).text();
    expect(audit).toBe(auditBefore);
    expect(g.server.gateway.bus.recent().some((e) => String(e.type).startsWith('client.'))).toBe(false);
    // A new client's backlog still holds the real request, and the dashboard built from it shows only real state.
    const viewer = await wsClient(g.url);
    await until(() => viewer.events.some((e) => e.type === 'request.end'), 'the real request in the backlog');
    await sleep(100);
    expect(viewer.events.length).toBeLessThanOrEqual(100);
    viewer.socket.close();
    const shown = await dashboardState(g.url, viewer.events);
    expect(shown.providers.openai).toBe('available');
    expect(shown.providers.ollama).toBeUndefined();
    expect(shown.requests).toBe('1');
  });
});

describe('secrets in provider URLs and keys', () => {
  const password = 'p@ss:w0rd/x-41';
  const shortKey = 'q/7+Z';
  let g: Gateway;
  let auditPath: string;
  let seen: string[];

  beforeAll(async () => {
    const auditDir = await mkdtemp(path.join(tmpdir(), 'unity-gateway-attack-audit-'));
    auditPath = path.join(auditDir, 'audit.jsonl');
    g = await startGateway({
      cloudUrl: (url) => url.replace('http://', `http://user:${encodeURIComponent(password)}@`),
      routerYaml: ['  audit:', '    enabled: true', `    path: ${auditPath}`],
      env: { TEST_CLOUD_KEY: shortKey },
    });
    seen = [];
    g.server.gateway.bus.subscribe((e) => seen.push(JSON.stringify(e)));
    // The upstream quotes back everything it was sent, in every form; then the local tier fails too.
    const cloudUrl = g.cloud.baseURL.replace('http://', `http://user:${encodeURIComponent(password)}@`);
    g.cloud.setDefault(() => ({
      fault: 'status',
      status: 500,
      message: `bad gateway at ${cloudUrl} (password ${password}); key ${shortKey}, encoded ${encodeURIComponent(shortKey)}`,
    }));
    g.local.setDefault(() => ({ fault: 'status', status: 500, message: `proxy said ${cloudUrl}` }));
  });
  afterAll(async () => {
    await g.close();
    await rm(path.dirname(auditPath), { recursive: true, force: true });
  });

  /** Every surface an attacker or a log reader can see after failed requests on both protocols, streaming too. */
  async function everything(): Promise<string> {
    const texts: string[] = [];
    for (const [pathname, stream] of [
      ['/v1/chat/completions', false],
      ['/v1/chat/completions', true],
      ['/api/chat', false],
      ['/api/chat', true],
    ] as const) {
      const r = await postChat(
        g.url,
        JSON.stringify({ model: 'unity', stream, messages: [{ role: 'user', content: 'x' }] }),
        pathname,
      );
      texts.push(await r.text(), JSON.stringify([...r.headers]));
    }
    for (const pathname of ['/audit?limit=500', '/metrics', '/readyz', '/healthz', '/v1/models', '/']) {
      texts.push(await (await fetch(`${g.url}${pathname}`)).text());
    }
    // The router's audit trail is written in the background: wait for the four requests' lines.
    let audit = '';
    for (let i = 0; i < 100 && audit.trim().split('\n').length < 4; i++) {
      audit = await readFile(auditPath, 'utf8').catch(() => '');
      await sleep(20);
    }
    texts.push(...seen, audit);
    return texts.join('\n');
  }

  let surfaces: Promise<string> | undefined;
  const all = () => {
    surfaces ??= everything();
    return surfaces;
  };

  it('the password in base_url never appears, decoded or encoded', async () => {
    const text = await all();
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(password);
    expect(text).not.toContain(encodeURIComponent(password));
  });

  it('a short API key never appears', async () => {
    expect(await all()).not.toContain(shortKey);
  });

  it('the URL-encoded form of the key never appears', async () => {
    const text = await all();
    expect(text).not.toContain(encodeURIComponent(shortKey));
    expect(text).not.toContain(encodeURIComponent(shortKey).toLowerCase());
  });
});

describe('bad input', () => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway();
  });
  afterAll(() => g.close());

  it('JSON nested past the depth limit gets 400 naming the limit, on the OpenAI endpoint', async () => {
    const deep = `{"model":"unity","messages":[{"role":"user","content":"x","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`;
    const r = await postChat(g.url, deep);
    expect(r.status).toBe(400);
    const error = ((await r.json()) as { error: { code: string; message: string; type: string } }).error;
    expect(error).toMatchObject({ code: 'json_too_deep', type: 'invalid_request_error' });
    expect(error.message).toContain('server.max_json_depth');
  });

  it('JSON nested past the depth limit gets 400 on the Ollama endpoint too', async () => {
    const deep = `{"model":"unity","messages":[],"options":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
    const r = await postChat(g.url, deep, '/api/chat');
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain('server.max_json_depth');
  });

  it('/api/chat without messages gets 400 naming the field', async () => {
    const r = await postChat(g.url, JSON.stringify({ model: 'unity' }), '/api/chat');
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain('messages: required');
  });
});

describe('an oversized MCP message', () => {
  it('gets a JSON-RPC error, and unity mcp exits non-zero with the reason', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'unity-mcp-attack-'));
    try {
      const main = new URL('../../../apps/cli/src/main.ts', import.meta.url).pathname;
      const child = spawn(
        process.execPath,
        ['--conditions=@unity/source', '--import', 'tsx', main, 'mcp', '--root', root],
        {
          env: { PATH: process.env.PATH ?? '' },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => {
        stdout += String(c);
      });
      child.stderr.on('data', (c) => {
        stderr += String(c);
      });
      child.stdin.on('error', () => {});
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // Just over the SDK's 10 MiB stdio limit, in one line that never ends.
      const chunk = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 11; i++) child.stdin.write(chunk);
      const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(guard);
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(JSON.parse(stdout.split('\n')[0] ?? '')).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600 },
      });
      expect(stderr).toContain('larger than the limit of 10485760 bytes');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
