import { isLoopbackHost } from '@unity/core';

/**
 * True when a URL points at this machine (localhost, 127.0.0.0/8, ::1, and 0.0.0.0, which as a destination reaches
 * this machine's own listeners — OLLAMA_HOST is often set to it): requests to it never leave the machine.
 */
export function isLoopbackUrl(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url.includes('://') ? url : `http://${url}`).hostname;
  } catch {
    return false;
  }
  return hostname === '0.0.0.0' || isLoopbackHost(hostname);
}
