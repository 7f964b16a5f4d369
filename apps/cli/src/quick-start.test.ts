import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHub, freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's quick start, read from the README itself so that the two cannot drift apart, run as a user would run it
// in this checkout, with the default model pointed at a fake Hugging Face hub that serves the tiny shared model.
const root = new URL('../../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const model = sharedModelPath();
if (!model) console.warn('skipping the quick-start test: ../shared/models/stories260K.gguf is absent');

/** The commands of the first ```sh block under "## Quick start", split at `&&`. */
function quickStartCommands(text: string): string[] {
  const section = text.split(/^## Quick start$/m)[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .join(' ')
    .split('&&')
    .map((command) => command.trim());
}

const commands = quickStartCommands(readme);
const repo = 'Qwen/Qwen2.5-0.5B-Instruct-GGUF';
const file = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';

let hub: FakeHub;
let home: string;
beforeAll(async () => {
  hub = await FakeHub.start({ files: [{ repo, path: file, bytes: model ? readFileSync(model) : Buffer.alloc(0) }] });
  home = await mkdtemp(join(tmpdir(), 'unity-quick-start-'));
});
afterAll(async () => {
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

function sh(command: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd: root, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end();
  });
}

describe('the README quick start', () => {
  it('installs and builds with npm, then pulls the default model and asks with npx unity', () => {
    // CI runs the first two itself (`npm ci` in .ci/run, the build before this project's tests): they are checked, not
    // run again here, where `npm ci` would replace the node_modules the test runs from.
    expect(commands.slice(0, 2)).toEqual(['npm ci', 'npm run build']);
    expect(commands[2]).toBe('npx unity models pull default');
    expect(commands[3]).toMatch(/^npx unity ask "[^"]+"$/);
    expect(commands).toHaveLength(4);
    expect(readme).not.toContain('../shared/models/stories260K.gguf && ');
  });

  it.skipIf(!model)('pulls the default model and answers with it, with only npm and Node', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      // No key and no Ollama (a port nothing listens on): the embedded engine answers, as on a new machine.
      OLLAMA_HOST: `http://127.0.0.1:${await freePort()}`,
      UNITY_DEFAULT_MODEL: hub.resolveUrl(repo, file, hub.commit),
      NO_UPDATE_NOTIFIER: '1',
      npm_config_update_notifier: 'false',
    };
    const pull = await sh(commands[2] as string, env);
    expect(pull.err).not.toContain('npm error');
    expect(pull.code).toBe(0);
    expect(pull.out).toContain(`pulled qwen2.5-0.5b-instruct-q4_k_m (1.2 MB, sha256 ${hub.sha256(repo, file)}`);
    expect(await readdir(join(home, '.unity', 'models'))).toEqual([file]);
    expect(hub.requests.map((r) => r.server)).toEqual(['hub', 'cdn']);

    const ask = await sh(commands[3] as string, env);
    expect(ask.code).toBe(0);
    expect(ask.err).toContain('using the embedded engine with qwen2.5-0.5b-instruct-q4_k_m from the model store');
    expect(ask.out.trim().length).toBeGreaterThan(0);
  });
});
