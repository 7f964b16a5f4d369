import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI, sharedModelPath } from '@unity/test-kit';
import { Ollama } from 'ollama';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;

let cloud: FakeOpenAI;
let local: FakeOllama;
let dir: string;
let configPath: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(join(tmpdir(), 'unity-serve-'));
  configPath = join(dir, 'system.yaml');
  await writeFile(
    configPath,
    [
      'cloud_llm:',
      '  provider: openai',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      '  api_key_env: TEST_CLOUD_KEY',
      'ollama:',
      `  host: ${local.host}`,
      'router:',
      '  retries:',
      '    max_retries: 0',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  cloud.reset();
  local.reset();
});

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start `unity serve` as a real process and wait for its listening line. */
function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', TEST_CLOUD_KEY: 'sk-test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve({ child, url: match[1] as string, stdout: () => stdout, stderr: () => stderr, exited });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    void exited.then((code) => reject(new Error(`unity serve exited (${code}) before listening:\n${stderr}`)));
  });
}

/** Start a streaming chat and collect its SSE body as it arrives. */
function startStream(url: string): { firstChunk: Promise<void>; body: Promise<string> } {
  let markFirst: () => void = () => {};
  const firstChunk = new Promise<void>((resolve) => {
    markFirst = resolve;
  });
  const body = (async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', stream: true, messages: [{ role: 'user', content: 'long' }] }),
    });
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      markFirst();
    }
    return text;
  })();
  return { firstChunk, body };
}

const contentOf = (sse: string) =>
  sse
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: {'))
    .map((frame) => JSON.parse(frame.slice(6)).choices?.[0]?.delta?.content ?? '')
    .join('');

describe('unity serve (the built CLI, as a real process)', () => {
  it('serves chat on the OpenAI endpoint and prints where', async () => {
    const served = await serve(['--config', configPath]);
    cloud.enqueue({ text: 'served by unity serve' });
    const response = await fetch(`${served.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('served by unity serve');
    expect(served.stdout()).toContain('dashboard:');
    expect(served.stdout()).toMatch(/models: unity, local, reasoning, coding, fallback/);
  });

  it('on SIGTERM stops accepting, lets an in-flight stream finish, then exits 0', async () => {
    const served = await serve(['--config', configPath, '--drain-timeout', '10']);
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    cloud.enqueue({ text: words, chunkDelayMs: 50 });
    const stream = startStream(served.url);
    await stream.firstChunk;
    served.child.kill('SIGTERM');
    // The signal is handled asynchronously: poll until a new connection is refused. A refusal only counts while the
    // process is alive (draining the stream), not once it has exited.
    const healthz = () =>
      fetch(`${served.url}/healthz`).then(
        (r) => r.status,
        (e: Error) =>
          `${(e.cause as { code?: string } | undefined)?.code ?? e.message}${served.child.exitCode === null ? '' : ' (exited)'}`,
      );
    await expect.poll(healthz, { timeout: 10_000, interval: 25 }).toBe('ECONNREFUSED');
    const sse = await stream.body;
    expect(contentOf(sse)).toBe(words);
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await served.exited).toBe(0);
    expect(served.stderr()).toContain('SIGTERM');
    expect(cloud.requestsTo('/chat/completions')[0]?.aborted).toBe(false);
  });

  it('cancels a stream still running at the drain deadline with an error event, then exits', async () => {
    const served = await serve(['--config', configPath, '--drain-timeout', '0.3']);
    cloud.enqueue({ text: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 50 });
    const stream = startStream(served.url);
    await stream.firstChunk;
    served.child.kill('SIGTERM');
    const sse = await stream.body;
    expect(sse).not.toContain('[DONE]');
    expect(sse).toMatch(/data: \{"error":\{"message":"[^"]*shutting down/);
    expect(await served.exited).toBe(0);
    expect(served.stderr()).toContain('1 request(s) cancelled');
  });

  it.each(['0.0.0.0', '127.example.com'])(
    'refuses to listen on %s without an API key, saying how to set one',
    async (host) => {
      const error = await serve(['--config', configPath, '--host', host]).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('exited (1)');
      expect((error as Error).message).toContain('UNITY_API_KEY');
      expect((error as Error).message).not.toMatch(/\n\s+at /);
    },
  );

  const model = sharedModelPath();
  const engine = existsSync(new URL('../../../../node_modules/node-llama-cpp/package.json', import.meta.url));
  if (!model || !engine) {
    console.warn(
      `serve.test.ts: the local-model test is skipped: ${!model ? 'the shared model is absent' : 'node-llama-cpp is not installed'}`,
    );
  }
  it.skipIf(!model || !engine)(
    'serves a model from the store on the Ollama and OpenAI endpoints with --local-model',
    async () => {
      const store = join(dir, 'store');
      await mkdir(store);
      await copyFile(model as string, join(store, 'tiny-stories.gguf'));
      const storeConfig = join(dir, 'with-store.yaml');
      await writeFile(storeConfig, `${await readFile(configPath, 'utf8')}llamacpp:\n  store_dir: ${store}\n`);
      await cloud.refuse();
      try {
        const localModel = 'llamacpp/tiny-stories';
        const served = await serve(['--config', storeConfig, '--local-model', 'tiny-stories'], {
          OLLAMA_HOST: 'http://127.0.0.1:9',
        });
        const ollama = new Ollama({ host: served.url });
        expect((await ollama.list()).models.map((m) => m.name)).toContain(localModel);
        const generated = await ollama.generate({
          model: localModel,
          prompt: 'Once upon a time, there was a little',
          options: { temperature: 0, num_predict: 12 },
          stream: false,
        });
        expect(generated.response?.length ?? 0).toBeGreaterThan(0);
        const response = await fetch(`${served.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: localModel,
            stream: true,
            max_tokens: 12,
            temperature: 0,
            messages: [{ role: 'user', content: 'Once upon a time' }],
          }),
        });
        expect(response.headers.get('x-unity-provider')).toBe('llamacpp');
        const sse = await response.text();
        expect(contentOf(sse).length).toBeGreaterThan(0);
        expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
      } finally {
        await cloud.accept();
      }
    },
    60_000,
  );
});
