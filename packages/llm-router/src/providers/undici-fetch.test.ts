import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUndiciFetch } from './undici-fetch';

let server: Server;
let origin: string;
const agent = new Agent();
const send = createUndiciFetch(agent);

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url === '/empty') return res.writeHead(204).end();
    if (req.url === '/hang') return;
    res.writeHead(201, {
      'content-type': 'application/json',
      'set-cookie': ['a=1', 'b=2'],
      'x-seen': req.headers['x-test'] ?? 'none',
    });
    res.end(JSON.stringify({ method: req.method, body }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await agent.close();
});

describe('createUndiciFetch', () => {
  it('sends method, headers and a string body, and answers a standard Response', async () => {
    const response = await send(`${origin}/echo`, { method: 'POST', headers: { 'x-test': 'yes' }, body: 'hello' });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-seen')).toBe('yes');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(await response.json()).toEqual({ method: 'POST', body: 'hello' });
  });

  it('answers a bodiless status without a body', async () => {
    const response = await send(`${origin}/empty`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('sends a streamed body through fetch on the same dispatcher', async () => {
    const body = new Blob(['from a blob']).stream();
    const response = await send(`${origin}/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await response.json()).toEqual({ method: 'POST', body: 'from a blob' });
  });

  it('rejects when the signal aborts a request that gets no answer', async () => {
    const controller = new AbortController();
    const pending = send(`${origin}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
