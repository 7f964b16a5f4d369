// Shared set-up for the gateway's tests: the test kit's fake OpenAI (the cloud) and fake Ollama (the local tier), a
// config file in a temp folder pointing at them, and `startServer` — the real router behind the real gateway, on a
// random port. Not part of the package's public surface.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, type FakeOllamaOptions, FakeOpenAI, gatewayConfigYaml } from '@unity/test-kit';
import { type RunningServer, type StartServerOptions, startServer } from '../start-server';

export interface Harness {
  cloud: FakeOpenAI;
  local: FakeOllama;
  server: RunningServer;
  /** `http://127.0.0.1:PORT` */
  url: string;
  configPath: string;
  close(): Promise<void>;
}

interface HarnessOptions extends Partial<StartServerOptions> {
  /** The config's `server:` section (default: the health monitor off, so that tests control every request). */
  server?: Record<string, string | number>;
  /** Router settings YAML under `router:` (indented by the caller). */
  routerYaml?: string;
  /** YAML appended to the config as is: more `server:` lines (indented by two), then other sections. */
  extraYaml?: string;
  /** The fake Ollama's models and registry. */
  ollama?: FakeOllamaOptions;
}

export function harnessConfig(cloud: FakeOpenAI, local: FakeOllama, options: HarnessOptions = {}): string {
  return (
    gatewayConfigYaml({
      cloudBaseUrl: cloud.baseURL,
      ollamaHost: local.host,
      ...(options.routerYaml ? { routerLines: [options.routerYaml] } : {}),
      ...(options.server ? { server: options.server } : {}),
    }) + (options.extraYaml ?? '')
  );
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const cloud = await FakeOpenAI.start();
  const local = await FakeOllama.start(options.ollama);
  const dir = await mkdtemp(join(tmpdir(), 'unity-server-test-'));
  const configPath = join(dir, 'system.yaml');
  // The virtual keys of each test in its own folder, never the user's ~/.unity/gateway.
  const withDataDir = { ...options, server: { data_dir: join(dir, 'data'), ...options.server } };
  await writeFile(configPath, harnessConfig(cloud, local, withDataDir));
  const { server: _server, routerYaml: _router, extraYaml: _extra, ollama: _ollama, ...rest } = options;
  let server: RunningServer;
  try {
    server = await startServer({ configPath, port: 0, ...rest, env: { TEST_CLOUD_KEY: 'sk-test', ...rest.env } });
  } catch (error) {
    await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
    throw error;
  }
  return {
    cloud,
    local,
    server,
    url: server.address,
    configPath,
    async close() {
      await server.shutdown({ drainTimeoutMs: 1_000 });
      await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
    },
  };
}
