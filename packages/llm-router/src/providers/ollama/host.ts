const defaultPort = '11434';

/**
 * Ollama's base URL from a host as users write it, read as the official client reads it: `127.0.0.1:11434`,
 * `:11434` (this machine), `http://host` (port 80) or `host` (port 11434); credentials and a path prefix kept, a
 * trailing slash dropped.
 */
export function ollamaBaseUrl(host: string): string {
  if (!host) return `http://127.0.0.1:${defaultPort}`;
  let explicit = host.includes('://');
  let address = host;
  if (address.startsWith(':')) {
    address = `http://127.0.0.1${address}`;
    explicit = true;
  }
  if (!explicit) address = `http://${address}`;
  const url = new URL(address);
  const port = url.port || (explicit ? (url.protocol === 'https:' ? '443' : '80') : defaultPort);
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  const base = `${url.protocol}//${auth}${url.hostname}:${port}${url.pathname}`;
  return base.endsWith('/') ? base.slice(0, -1) : base;
}
