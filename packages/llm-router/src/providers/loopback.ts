import { isIP } from 'node:net';

/** True when a URL points at this machine (localhost, 127.0.0.0/8, ::1): requests to it never leave the machine. */
export function isLoopbackUrl(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url.includes('://') ? url : `http://${url}`).hostname;
  } catch {
    return false;
  }
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
