import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A port that nothing listens on right now (for "connection refused" tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Whether something accepts TCP connections at the URL's host and port (`defaultPort` when the URL names none), within
 * `timeoutMs`: for tests that need a service CI starts (Redis) and skip with a reason without it.
 */
export function listening(url: string, defaultPort: number, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || defaultPort) });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * The shared tiny GGUF model (`../shared/models/stories260K.gguf` beside the repository), or the path in
 * `UNITY_TEST_MODEL`. Returns undefined when the file is absent, so tests can skip with a reason.
 */
export function sharedModelPath(): string | undefined {
  const fromEnv = process.env.UNITY_TEST_MODEL;
  if (fromEnv) return existsSync(fromEnv) ? resolve(fromEnv) : undefined;
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const candidate = join(repoRoot, '..', 'shared', 'models', 'stories260K.gguf');
  return existsSync(candidate) ? candidate : undefined;
}
