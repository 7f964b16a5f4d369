// The gateway as a client sees it: the real router behind `startServer` on a random port, with the test kit's fake
// OpenAI server as the cloud and its fake Ollama as the local tier (the same set-up as the gateway's own tests).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '@unity/gateway';
import { defaultOllamaModel, FakeOllama, FakeOpenAI, gatewayConfigYaml, nomicEmbedModel } from '@unity/test-kit';

export interface Gateway {
  /** The fake cloud (OpenAI protocol): script its replies, read the request bodies it received. */
  cloud: FakeOpenAI;
  /** The fake local tier (Ollama protocol). */
  local: FakeOllama;
  server: RunningServer;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Forget recorded requests and scripted replies of both fakes. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * The names apps hard-code, served by the default chain through `server.model_aliases`, as a user would configure them
 * to point an unchanged app at the gateway.
 */
const aliases = { 'gpt-4o-mini': 'unity', 'claude-sonnet-4-5': 'unity' };

/**
 * The local tier: the fake Ollama holds qwen2.5-coder:7b and nomic-embed-text, and its registry has both (so a pull of
 * either succeeds, as it does on a real Ollama).
 *
 * The embedding chain: the cloud's text-embedding-3-small, then Ollama's nomic-embed-text (which the fake Ollama
 * holds beside qwen2.5-coder:7b).
 */
const embeddingModels = ['openai/text-embedding-3-small', 'ollama/nomic-embed-text'];

interface GatewayOptions {
  /** `router.retries.max_retries` (default 0: every request reaches each model once, as tests script it). */
  maxRetries?: number;
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const cloud = await FakeOpenAI.start();
  const local = await FakeOllama.start({
    models: [defaultOllamaModel, nomicEmbedModel],
    registry: [defaultOllamaModel, nomicEmbedModel],
  });
  const dir = await mkdtemp(join(tmpdir(), 'unity-client-compat-'));
  const configPath = join(dir, 'system.yaml');
  const aliasMap = `{${Object.entries(aliases)
    .map(([name, target]) => `${name}: ${target}`)
    .join(', ')}}`;
  const yaml = gatewayConfigYaml({
    cloudBaseUrl: cloud.baseURL,
    ollamaHost: local.host,
    embeddingModels,
    server: { model_aliases: aliasMap },
  });
  await writeFile(configPath, yaml.replace('max_retries: 0', `max_retries: ${options.maxRetries ?? 0}`));
  let server: RunningServer;
  try {
    server = await startServer({ configPath, port: 0, env: { TEST_CLOUD_KEY: 'sk-test' } });
  } catch (error) {
    await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
    throw error;
  }
  return {
    cloud,
    local,
    server,
    url: server.address,
    reset() {
      cloud.reset();
      local.reset();
    },
    async close() {
      await server.shutdown({ drainTimeoutMs: 1_000 });
      await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
    },
  };
}

/** The JSON bodies the fake cloud received on its chat endpoint, in order. */
export function cloudChatBodies(gateway: Gateway): Record<string, unknown>[] {
  return gateway.cloud.requestsTo('/chat/completions').map((r) => r.body as Record<string, unknown>);
}

/** The JSON bodies the fake Ollama received on `/api/<endpoint>`, in order. */
export function localBodies(gateway: Gateway, endpoint: string): Record<string, unknown>[] {
  return gateway.local.requestsTo(`/api/${endpoint}`).map((r) => r.body as Record<string, unknown>);
}
