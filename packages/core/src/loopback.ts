import { isIP } from 'node:net';

/**
 * True for a host name or address only this machine can reach: `localhost` (and `*.localhost`), 127.0.0.0/8, `::1`
 * and IPv4-mapped 127.x. `0.0.0.0` is not: a server bound to it listens on every interface.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const mapped = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (isIP(mapped) === 4) return mapped.startsWith('127.');
  return h === '::1';
}
