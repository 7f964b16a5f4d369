import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

let h: Harness;
let port: number;

beforeAll(async () => {
  // Short limits, so that each attack is cut quickly; the checks wait for the close, never for a fixed time.
  h = await startHarness({
    server: {
      headers_timeout_seconds: 0.3,
      body_timeout_seconds: 0.5,
      keep_alive_timeout_seconds: 0.3,
      // Longer than the guard of `raw`: a close within it is the header, body or keep-alive timeout's doing.
      idle_timeout_seconds: 30,
      max_concurrent_requests: 3,
      max_concurrent_bodies: 1,
    },
  });
  port = Number(new URL(h.url).port);
});
afterAll(() => h.close());

interface Raw {
  socket: Socket;
  /** Everything the server sent, once it closed the connection (rejects after 5 s: the server never closed it). */
  closed: Promise<string>;
}

/** A raw TCP connection to the gateway that writes `data` and records what comes back until the server closes it. */
async function raw(data: string): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  const closed = new Promise<string>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`still open after 5 s; received: ${received}`)), 5_000);
    socket.once('close', () => {
      clearTimeout(guard);
      resolve(received);
    });
  });
  closed.catch(() => socket.destroy());
  socket.write(data);
  return { socket, closed };
}

const chat = (content: string, stream = false) =>
  fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'coding', stream, messages: [{ role: 'user', content }] }),
  });

describe('connection timeouts', () => {
  it('closes a connection whose headers never complete', async () => {
    const { closed } = await raw('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n');
    // 408 is Node's answer at headersTimeout (an idle-socket timeout would close without a word).
    expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a request whose body never completes', async () => {
    const { closed } = await raw(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":',
    );
    // Node's answer at requestTimeout, before the gateway ever saw the request.
    expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after its response', async () => {
    const { closed } = await raw('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    expect(await closed).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('concurrency caps', () => {
  it('answers 503 with Retry-After beyond max_concurrent_requests, and serves again afterwards', async () => {
    for (let i = 0; i < 3; i++) h.cloud.enqueue({ text: `held ${i}`, delayMs: 800 });
    const held = [chat('a'), chat('b'), chat('c')];
    // The three are in the gateway once the fake upstream has seen them.
    const deadline = Date.now() + 5_000;
    while (h.cloud.requestsTo('/chat/completions').length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const refused = await chat('one too many');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('overloaded');
    expect(error.message).toContain('server.max_concurrent_requests');
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await chat('after the rush')).status).toBe(200);
  });

  it('answers 503 beyond max_concurrent_bodies while a body is still being read', async () => {
    const slow = await raw(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{',
    );
    // The gateway holds the first body once its request is counted; a second body is refused meanwhile.
    let refused: Response | undefined;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      refused = await chat('second body');
      if (refused.status === 503) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!refused) throw new Error('no request was made');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'server.max_concurrent_bodies',
    );
    await slow.closed;
    expect((await chat('after the slow body')).status).toBe(200);
  });
});

describe('a long, silent stream', () => {
  it('is not cut by the header, body, keep-alive or idle timeouts', async () => {
    const short = await startHarness({
      server: {
        headers_timeout_seconds: 0.3,
        body_timeout_seconds: 0.3,
        keep_alive_timeout_seconds: 0.3,
        idle_timeout_seconds: 0.3,
      },
    });
    try {
      short.cloud.enqueue({ text: 'slow but steady answer', delayMs: 700, chunkDelayMs: 600 });
      const response = await fetch(`${short.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'coding',
          stream: true,
          messages: [{ role: 'user', content: 'take your time' }],
        }),
      });
      expect(response.status).toBe(200);
      const body = await response.text();
      expect(body).toContain('steady');
      expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    } finally {
      await short.close();
    }
  });
});
