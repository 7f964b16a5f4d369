import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const model = sharedModelPath();
const engine = existsSync(new URL('../../../../node_modules/node-llama-cpp/package.json', import.meta.url));
if (!model || !engine) {
  console.warn(
    `serve-last-resort.test.ts: skipped: ${!model ? 'the shared model is absent' : 'node-llama-cpp is not installed'}`,
  );
}

let dir: string;
let store: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-serve-last-resort-'));
  store = join(dir, 'store');
  await mkdir(store);
  if (model) await copyFile(model, join(store, 'stories260K.gguf'));
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Start `unity serve` as a real process (no keys, no OLLAMA_HOST from the test's env) and wait for its address. */
function serve(config: string): Promise<string> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--config', config], {
    env: { PATH: process.env.PATH ?? '', HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve(match[1] as string);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`unity serve exited (${code}) before listening:\n${stderr}`)));
  });
}

/** The seed's chain (cloud MiniMax, then Ollama) with no key and no Ollama: nothing configured can answer. */
async function downConfig(name: string, routerLines: string[] = []): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    [
      'ollama:',
      `  host: http://127.0.0.1:${await freePort()}`,
      'llamacpp:',
      `  store_dir: ${store}`,
      '  threads: 1',
      '  context_size: 512',
      'router:',
      '  retries:',
      '    max_retries: 0',
      ...routerLines,
      '',
    ].join('\n'),
  );
  return path;
}

const chat = (url: string, stream: boolean) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'unity',
      stream,
      max_tokens: 12,
      temperature: 0,
      messages: [{ role: 'user', content: 'Once upon a time, there was a little' }],
    }),
  });

describe.skipIf(!model || !engine)('unity serve with the chain down (the built CLI, as a real process)', () => {
  it('answers /v1/chat/completions from the store model, the router’s last resort', async () => {
    const url = await serve(await downConfig('down'));
    const response = await chat(url, false);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-unity-provider')).toBe('llamacpp');
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toMatch(/^\s?girl named Lily/);
  });

  it('streams the store model’s answer as server-sent events', async () => {
    const url = await serve(await downConfig('down-stream'));
    const response = await chat(url, true);
    expect(response.headers.get('x-unity-provider')).toBe('llamacpp');
    const sse = await response.text();
    const text = sse
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => JSON.parse(frame.slice(6)).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(text).toMatch(/^\s?girl named Lily/);
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('fails the request instead with router.last_resort: none', async () => {
    const url = await serve(await downConfig('down-none', ['  last_resort: none']));
    const response = await chat(url, false);
    // 503 when the health monitor already reports Ollama down (nothing sent), 502 when the connection was refused.
    expect([502, 503]).toContain(response.status);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain('no model could answer');
    expect(body.error.message).not.toContain('stories260K');
  });
});
