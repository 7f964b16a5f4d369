import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
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
