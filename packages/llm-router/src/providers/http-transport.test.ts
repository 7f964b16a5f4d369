import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HttpTransport,
  headerSource,
  headerValue,
  isJsonResponse,
  isSuccess,
  readErrorBody,
  releaseBody,
} from './http-transport';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Resolves once the response is closed: true when it was cut before it finished. */
  closed: Promise<boolean>;
}

let server: Server;
let origin: string;
let connections = 0;
const sockets: Socket[] = [];
const seen: Seen[] = [];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = '';
  for await (const chunk of req) body += chunk;
  const closed = new Promise<boolean>((resolve) => res.on('close', () => resolve(!res.writableFinished)));
  seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, closed });
  const path = req.url ?? '';
  if (path.endsWith('/hang')) return;
  if (path.endsWith('/slow')) {
    setTimeout(() => res.end('late'), 3_000);
    return;
  }
  if (path.endsWith('/moved')) {
    res.writeHead(307, { location: '/v1/echo' }).end();
    return;
  }
  if (path.endsWith('/endless')) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write('data: {}\n\n'), 10);
    res.on('close', () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
  res.end(JSON.stringify({ method: req.method, url: req.url, body }));
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket) => {
    connections++;
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  sockets.length = 0;
  connections = 0;
});

const transportFor = (extra: Partial<ConstructorParameters<typeof HttpTransport>[0]> = {}) =>
  new HttpTransport({
    baseUrl: `${origin}/v1/`,
    headers: { 'content-type': 'application/json', 'x-one': '1' },
    ...extra,
  });

describe('HttpTransport', () => {
  it('POSTs the body with the given headers to the endpoint under the base path', async () => {
    const transport = transportFor();
    try {
      const response = await transport.post(transport.path('/echo'), '{"a":1}', undefined);
      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toEqual({ method: 'POST', url: '/v1/echo', body: '{"a":1}' });
      expect(seen[0]?.headers).toMatchObject({ 'content-type': 'application/json', 'x-one': '1' });
    } finally {
      await transport.close();
    }
  });

  it('sends sequential requests over kept-alive connections, not one each', async () => {
    const transport = transportFor();
    try {
      for (let i = 0; i < 10; i++) await (await transport.post(transport.path('/echo'), '{}', undefined)).body.text();
      expect(seen).toHaveLength(10);
      // undici may open a second socket when a request follows in the same tick as the previous body's end.
      expect(connections).toBeLessThanOrEqual(2);
    } finally {
      await transport.close();
    }
  });

  it('rejects with an AbortError when the signal aborts a request that gets no answer, closing it upstream', async () => {
    const transport = transportFor();
    try {
      const controller = new AbortController();
      const pending = transport.post(transport.path('/hang'), '{}', controller.signal);
      await vi.waitFor(() => expect(seen).toHaveLength(1));
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      expect(await seen[0]?.closed).toBe(true);
    } finally {
      await transport.close();
    }
  });

  it('closes the connection when an unread body is released, cancelling the response upstream', async () => {
    const transport = transportFor();
    try {
      const response = await transport.post(transport.path('/endless'), '{}', undefined);
      releaseBody(response);
      expect(await seen[0]?.closed).toBe(true);
    } finally {
      await transport.close();
    }
  });

  it('keeps the connection of a body read to its end when it is released', async () => {
    const transport = transportFor();
    try {
      const response = await transport.post(transport.path('/echo'), '{}', undefined);
      for await (const _ of response.body) {
        // read to the end
      }
      releaseBody(response);
      expect(await seen[0]?.closed).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(sockets[0]?.destroyed).toBe(false);
    } finally {
      await transport.close();
    }
  });

  it('follows redirects only when told to', async () => {
    const plain = transportFor();
    const following = transportFor({ maxRedirections: 5 });
    try {
      const moved = await plain.post(plain.path('/moved'), '{}', undefined);
      await moved.body.text();
      expect(moved.statusCode).toBe(307);
      seen.length = 0;
      const followed = await following.post(following.path('/moved'), '{"b":2}', undefined);
      expect(await followed.body.json()).toEqual({ method: 'POST', url: '/v1/echo', body: '{"b":2}' });
      // The first answer is read and the request sent again through undici's redirect interceptor.
      expect(seen.map((r) => r.url)).toEqual(['/v1/moved', '/v1/moved', '/v1/echo']);
    } finally {
      await Promise.all([plain.close(), following.close()]);
    }
  });

  it('fails with undici’s headers timeout when one is set', async () => {
    const transport = transportFor({ headersTimeoutMs: 100 });
    try {
      await expect(transport.post(transport.path('/slow'), '{}', undefined)).rejects.toMatchObject({
        code: 'UND_ERR_HEADERS_TIMEOUT',
      });
    } finally {
      await transport.close();
    }
  });

  it('rejects every request to an unusable base URL, as a connection failure would', async () => {
    const transport = new HttpTransport({ baseUrl: 'not a url', headers: {} });
    await expect(transport.post(transport.path('/x'), '{}', undefined)).rejects.toBeInstanceOf(TypeError);
    await transport.close();
  });

  it('fails with ECONNREFUSED when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const transport = new HttpTransport({ baseUrl: `http://127.0.0.1:${port}`, headers: {} });
    await expect(transport.post('/x', '{}', undefined)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await transport.close();
  });
});

describe('response helpers', () => {
  it('reads header values, joining repeated ones, through get() as well', () => {
    const headers = { 'retry-after': '3', 'set-cookie': ['a=1', 'b=2'] };
    expect(headerValue(headers, 'set-cookie')).toBe('a=1, b=2');
    expect(headerValue(headers, 'x-missing')).toBeNull();
    expect(headerSource(headers).get('Retry-After')).toBe('3');
  });

  it.each([
    ['application/json; charset=utf-8', true],
    ['application/problem+json', true],
    ['text/event-stream', false],
    [undefined, false],
  ])('isJsonResponse(%s) is %s', (type, expected) => {
    expect(isJsonResponse(type === undefined ? {} : { 'content-type': type })).toBe(expected);
  });

  it('tells 2xx statuses apart', () => {
    expect([199, 200, 204, 299, 300, 429].map(isSuccess)).toEqual([false, true, true, true, false, false]);
  });

  it('reads an error body as text', async () => {
    const transport = transportFor();
    try {
      const response = await transport.post(transport.path('/echo'), 'x', undefined);
      expect(await readErrorBody(response)).toEqual({
        text: JSON.stringify({ method: 'POST', url: '/v1/echo', body: 'x' }),
        failed: false,
      });
    } finally {
      await transport.close();
    }
  });
});
