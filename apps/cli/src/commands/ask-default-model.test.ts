import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHub, freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// `unity ask` when nothing can answer and the model store is empty: the default model is offered on a terminal
// (pulled from a fake Hugging Face hub over HTTP), and named as a command elsewhere.
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const model = sharedModelPath();
if (!model) console.warn('skipping the default-model offer tests: ../shared/models/stories260K.gguf is absent');
const repo = 'Qwen/Qwen2.5-0.5B-Instruct-GGUF';
const file = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';

let hub: FakeHub;
let home: string;
let env: Record<string, string>;
beforeAll(async () => {
  hub = await FakeHub.start({ files: [{ repo, path: file, bytes: model ? readFileSync(model) : Buffer.alloc(0) }] });
});
afterAll(() => hub.close());
beforeEach(async () => {
  hub.reset();
  home = await mkdtemp(join(tmpdir(), 'unity-ask-default-'));
  // No key, no Ollama (a port nothing listens on), the built-in config, an empty store under HOME, the fake hub.
  env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    OLLAMA_HOST: `http://127.0.0.1:${await freePort()}`,
    HF_ENDPOINT: hub.origin,
  };
  return () => rm(home, { recursive: true, force: true });
});

function run(
  command: string,
  args: string[],
  stdin: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: home });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

const store = () => join(home, '.unity', 'models');

describe.skipIf(!model)('unity ask with an empty model store', () => {
  it('off a terminal: exits 1 after the failures, naming the command that pulls the default model', async () => {
    const { code, out, err } = await run(process.execPath, [bin, 'ask', 'Once upon a time'], '');
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain('unity: no model could answer');
    expect(err).toContain(`unity: the model store (${store()}) is empty, so the embedded engine had no model`);
    expect(err).toContain(
      'unity: to pull the default model qwen2.5-0.5b-instruct-q4_k_m (about 491 MB), run:\n  unity models pull default\n',
    );
    expect(hub.requests).toEqual([]);
  });

  // `script` gives the command a terminal (a pty) whose keyboard is the text written to its stdin.
  const inTerminal = (answer: string) =>
    run('script', ['-qec', `${process.execPath} ${bin} ask "Once upon a time"`, '/dev/null'], answer);

  it('on a terminal: offers the default model with its size, pulls it from the hub on yes, then answers', async () => {
    const { code, out } = await inTerminal('y\n');
    expect(out).toContain(
      `unity: the model store (${store()}) is empty. The default model is qwen2.5-0.5b-instruct-q4_k_m (about 491 MB), from`,
    );
    expect(out).toContain(hub.resolveUrl(repo, file));
    expect(out).toContain('unity: download it and answer with it? [Y/n]');
    expect(out).toContain(`unity: pulled qwen2.5-0.5b-instruct-q4_k_m (sha256 ${hub.sha256(repo, file)}, as the hub`);
    expect(out).toContain('using the embedded engine with qwen2.5-0.5b-instruct-q4_k_m from the model store');
    expect(code).toBe(0);
    expect(await readdir(store())).toEqual([file]);
    expect(hub.requests.map((r) => r.server)).toEqual(['hub', 'cdn']);
  });

  it('on a terminal: pulls nothing and exits 1 when the offer is declined', async () => {
    const { code, out } = await inTerminal('n\n');
    expect(out).toContain('[Y/n]');
    expect(code).toBe(1);
    expect(hub.requests).toEqual([]);
    expect(await readdir(home)).not.toContain('.unity');
  });
});
