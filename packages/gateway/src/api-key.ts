import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks the key a request carries: `Authorization: Bearer <key>` (what OpenAI clients send), `x-api-key`, or the
 * `api_key` query parameter (for the dashboard and the WebSocket, which browsers cannot give headers). Constant time.
 */
export class ApiKeyCheck {
  private readonly expected: Buffer;

  constructor(key: string) {
    this.expected = digest(key);
  }

  accepts(headers: IncomingHttpHeaders, url: string): boolean {
    const given = keyFrom(headers, url);
    return given !== undefined && timingSafeEqual(digest(given), this.expected);
  }
}

export function keyFrom(headers: IncomingHttpHeaders, url: string): string | undefined {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = headers['x-api-key'];
  if (typeof header === 'string') return header;
  const query = url.indexOf('?');
  if (query >= 0) return new URLSearchParams(url.slice(query + 1)).get('api_key') ?? undefined;
  return undefined;
}
