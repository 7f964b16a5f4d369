// The gateway's defences against a misbehaving router, which the real router (tested everywhere else) never is:
// these use minimal router objects on purpose.
import { createRouter, defaultConfig } from '@unity/llm-router';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from './errors';
import { createGateway, type Gateway } from './gateway';
import type { GatewayRouter } from './gateway-router';

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.shutdown({ drainTimeoutMs: 100 });
  gateway = undefined;
});

async function serve(router: GatewayRouter): Promise<string> {
  gateway = createGateway({ router, models: [{ id: 'unity', route: {}, local: false }], processMetrics: false });
  return gateway.listen({ port: 0 });
}

const chat = (url: string, stream: boolean) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'unity', stream, messages: [{ role: 'user', content: 'x' }] }),
  });

describe('createGateway with a misbehaving router', () => {
  it('answers a router bug with 500 internal_error instead of hanging', async () => {
    const url = await serve({
      chat: async () => {
        throw new TypeError('x is not a function');
      },
      stream: () => ({
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            throw new TypeError('y is undefined');
          },
        }),
      }),
    });
    const r = await chat(url, false);
    expect(r.status).toBe(500);
    expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'internal_error',
      message: 'internal error: x is not a function',
    });
    expect((await chat(url, true)).status).toBe(500);
  });

  it('ends a stream that stops without finishing with an error, not a clean end', async () => {
    const url = await serve({
      chat: async () => {
        throw new Error('unused');
      },
      async *stream() {
        yield { type: 'text-delta' as const, text: 'partial' };
      },
    });
    const text = await (await chat(url, true)).text();
    expect(text).toContain('"content":"partial"');
    expect(text).toContain('the model stream ended without finishing');
    expect(text).not.toContain('[DONE]');
  });
});

describe('createGateway over a long-lived router', () => {
  it('removes every listener it added to the router when it shuts down', async () => {
    const router = createRouter({ config: defaultConfig, env: {} });
    const counts = () => Object.fromEntries(router.eventNames().map((name) => [name, router.listenerCount(name)]));
    const before = counts();
    try {
      for (let i = 0; i < 3; i++) {
        const g = createGateway({ router, models: [], processMetrics: false });
        expect(router.listenerCount('attempt')).toBeGreaterThan(before.attempt ?? 0);
        await g.listen({ port: 0 });
        await g.shutdown({ drainTimeoutMs: 100 });
        expect(counts()).toEqual(before);
      }
    } finally {
      await router.close();
    }
  });
});

describe('createGateway listening without an API key', () => {
  const unusedRouter: GatewayRouter = {
    chat: async () => {
      throw new Error('unused');
    },
    async *stream() {},
  };

  // Refused before binding, so these names are never resolved.
  it.each(['127.example.com', '127.0.0.1.nip.io', 'localhost.example.com', '0.0.0.0', '::'])(
    'treats %s as off loopback and refuses to listen',
    async (host) => {
      gateway = createGateway({ router: unusedRouter, models: [], processMetrics: false });
      const error = await gateway.listen({ host, port: 0 }).catch((e: unknown) => e);
      expect(GatewayError.isInstance(error) && error.code).toBe('API_KEY_REQUIRED');
      expect(gateway.app.server.listening).toBe(false);
    },
  );

  it('listens on a loopback address other than 127.0.0.1', async () => {
    gateway = createGateway({ router: unusedRouter, models: [], processMetrics: false });
    expect(await gateway.listen({ host: '127.0.0.2', port: 0 })).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
  });
});
