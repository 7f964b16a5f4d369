import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, listening } from './environment';

describe('listening', () => {
  it('is true where a server accepts connections and false where nothing listens', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      expect(await listening(`redis://127.0.0.1:${port}`, 6379)).toBe(true);
    } finally {
      server.close();
    }
    expect(await listening(`redis://127.0.0.1:${await freePort()}`, 6379)).toBe(false);
  });
});
