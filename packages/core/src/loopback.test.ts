import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from './loopback';

describe('isLoopbackHost', () => {
  it('accepts names and addresses only this machine can reach', () => {
    for (const host of ['localhost', 'api.localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('refuses every other host, including look-alike names and 0.0.0.0', () => {
    for (const host of ['0.0.0.0', '127.example.com', '10.0.0.1', '::', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
