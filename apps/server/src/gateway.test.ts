import { describe, expect, it } from 'vitest';
import { createGateway } from './gateway';

const app = createGateway();

describe('createGateway', () => {
  it('answers /healthz over real HTTP', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const response = await fetch(`${address}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok' });
      expect((await fetch(`${address}/nope`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
