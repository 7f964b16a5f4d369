// Shared set-up for the gateway's tests: the test kit's fake OpenAI (the cloud) and fake Ollama (the local tier), a
// config file in a temp folder pointing at them, and `startServer` — the real router behind the real gateway, on a
// random port. Not part of the package's public surface.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI } from '@unity/test-kit';
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
}

export function harnessConfig(cloud: FakeOpenAI, local: FakeOllama, options: HarnessOptions = {}): string {
  return [
    'cloud_llm:',
    '  provider: openai',
    '  model: MiniMax-M2',
    `  base_url: ${cloud.baseURL}`,
    '  api_key_env: TEST_CLOUD_KEY',
    'models:',
    '  reasoning: ollama_chat/qwen2.5-coder:7b',
    '  coding: ollama_chat/qwen2.5-coder:7b',
    '  fallback: ollama_chat/qwen2.5-coder:7b',
    'ollama:',
    `  host: ${local.host}`,
    'router:',
    '  retries:',
    '    max_retries: 0',
    options.routerYaml ?? '',
    'server:',
    ...Object.entries({ health_interval_seconds: 0, ...options.server }).map(([k, v]) => `  ${k}: ${v}`),
    '',
  ].join('\n');
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const cloud = await FakeOpenAI.start();
  const local = await FakeOllama.start();
  const dir = await mkdtemp(join(tmpdir(), 'unity-server-test-'));
  const configPath = join(dir, 'system.yaml');
  await writeFile(configPath, harnessConfig(cloud, local, options));
  const { server: _server, routerYaml: _router, ...rest } = options;
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
