import { isIP } from 'node:net';

/** True when a URL points at this machine (localhost, 127.0.0.0/8, 0.0.0.0, ::1): requests to it never leave the machine. */
export function isLoopbackUrl(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url.includes('://') ? url : `http://${url}`).hostname;
  } catch {
    return false;
  }
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  // 0.0.0.0 (OLLAMA_HOST is often set to it) reaches this machine's own listeners.
  if (isIP(host) === 4) return host.startsWith('127.') || host === '0.0.0.0';
  return host === '::1';
}
