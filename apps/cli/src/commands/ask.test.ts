import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI, freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const key = 'sk-ask-test-0123456789abcdef';

let cloud: FakeOpenAI;
let ollama: FakeOllama;
let dir: string;
let configPath: string;

beforeAll(async () => {
  cloud = await FakeOpenAI.start({ apiKey: key });
  ollama = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b' }, { name: 'llama3.2:1b' }] });
  dir = await mkdtemp(join(tmpdir(), 'unity-ask-'));
  configPath = join(dir, 'system.yaml');
  await writeFile(configPath, configYaml(cloud.baseURL, ollama.host));
});
afterAll(async () => {
  await Promise.all([cloud.close(), ollama.close(), rm(dir, { recursive: true, force: true })]);
});
afterEach(() => {
  cloud.reset();
  ollama.reset();
});

function configYaml(baseUrl: string, host: string, extra = ''): string {
  return `cloud_llm:
  enabled: true
  provider: minimax
  model: MiniMax-M2
  fallback_to_local: true
  timeout_seconds: 20
  base_url: ${baseUrl}
models:
  reasoning: ollama_chat/qwen2.5-coder:7b
  coding: ollama_chat/llama3.2:1b
  fallback: ollama_chat/qwen2.5-coder:7b
ollama:
  host: ${host}
router:
  retries:
    max_retries: 0
${extra}`;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI with only the environment given (no OLLAMA_HOST or keys leak in from the test's own). */
function unity(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; interruptOnOutput?: boolean } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...options.env },
      cwd: dir,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      if (options.interruptOnOutput && stdout === '') child.kill('SIGINT');
      stdout += d;
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

const withKey = { MINIMAX_API_KEY: key };

describe('unity ask (built binary against fake upstreams)', () => {
  it('streams the cloud model’s answer to stdout', async () => {
    cloud.enqueue({ text: 'Fallbacks catch the fall, quiet nets beneath the wire' });
    const run = await unity(['ask', 'Write a haiku about fallbacks', '--config', configPath], { env: withKey });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Fallbacks catch the fall, quiet nets beneath the wire\n');
    expect(run.stderr).toBe('');
    const body = cloud.requestsTo('/chat/completions')[0]?.body as { stream: boolean } | undefined;
    expect(body?.stream).toBe(true);
  });

  it('prints the whole response as one JSON object with --json', async () => {
    const run = await unity(['ask', 'hello', '--config', configPath, '--json'], { env: withKey });
    expect(run.code).toBe(0);
    const response = JSON.parse(run.stdout);
    expect(response).toMatchObject({
      content: 'echo: hello',
      provider: 'minimax',
      model: 'MiniMax-M2',
      finishReason: 'stop',
      usage: { inputTokens: 1 },
      attempts: [{ provider: 'minimax', model: 'minimax/MiniMax-M2', ok: true }],
    });
  });

  it('falls back from a failing cloud to the local model and says so on stderr', async () => {
    cloud.enqueue({ fault: 'status', status: 500 });
    const run = await unity(['ask', 'are you there', '--config', configPath], { env: withKey });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('echo: are you there\n');
    expect(run.stderr).toContain(
      'answered by ollama_chat/qwen2.5-coder:7b after minimax/MiniMax-M2 failed (SERVER_ERROR)',
    );
  });

  it('with --json, prints the failure as JSON on stdout too when nothing can answer', async () => {
    const nowhere = join(dir, 'nowhere-json.yaml');
    await writeFile(nowhere, configYaml(cloud.baseURL, `http://127.0.0.1:${await freePort()}`));
    const run = await unity(['ask', 'anyone?', '--config', nowhere, '--json']);
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout);
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.message).toContain('ollama serve');
    expect(error.attempts.map((a: { ok: boolean }) => a.ok)).not.toContain(true);
    expect(run.stderr).toContain('unity: no model could answer');
  });

  it('exits 1 naming each failure and its fix, without a stack trace, when nothing can answer', async () => {
    const nowhere = join(dir, 'nowhere.yaml');
    const port = await freePort();
    await writeFile(nowhere, configYaml(cloud.baseURL, `http://127.0.0.1:${port}`));
    const run = await unity(['ask', 'anyone?', '--config', nowhere]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('unity: no model could answer');
    expect(run.stderr).toContain('MINIMAX_API_KEY is not set');
    expect(run.stderr).toContain('export MINIMAX_API_KEY=<your key>');
    expect(run.stderr).toContain('[CONNECTION_FAILED]');
    expect(run.stderr).toContain('ollama serve');
    expect(run.stderr).toContain('ollama pull qwen2.5-coder:7b');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(cloud.requests).toHaveLength(0);
  });

  const model = sharedModelPath();
  it.skipIf(!model)('answers with a model from the store when nothing configured can, and says so', async () => {
    const store = join(dir, 'store');
    await mkdir(store, { recursive: true });
    await symlink(model!, join(store, 'stories260K.gguf'));
    const nowhere = join(dir, 'nowhere-embedded.yaml');
    await writeFile(nowhere, configYaml(cloud.baseURL, `http://127.0.0.1:${await freePort()}`));
    const run = await unity(['ask', 'Once upon a time', '--config', nowhere, '--json'], {
      env: { UNITY_MODELS_DIR: store },
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('using the embedded engine with stories260K from the model store');
    expect(run.stderr).toContain('unity: no configured model could answer:\n');
    expect(run.stderr).toContain('[CONNECTION_FAILED]');
    const response = JSON.parse(run.stdout);
    expect(response.provider).toBe('llamacpp');
    expect(response.model).toBe('stories260K');
    // The configured models' failed attempts come first, then the embedded engine's answer.
    expect(response.attempts.at(-1)).toMatchObject({ provider: 'llamacpp', ok: true });
    expect(response.attempts.filter((a: { ok: boolean }) => !a.ok).length).toBeGreaterThan(0);
    expect(response.content.length).toBeGreaterThan(0);
    expect(cloud.requests).toHaveLength(0);
  });

  /** A store holding the shared model, and a config whose chain is down (no key, no Ollama) plus `extra`. */
  async function storeAndDownConfig(name: string, extra: string): Promise<{ store: string; config: string }> {
    const store = join(dir, `store-${name}`);
    await mkdir(store, { recursive: true });
    await symlink(model!, join(store, 'stories260K.gguf'));
    const config = join(dir, `${name}.yaml`);
    await writeFile(config, configYaml(cloud.baseURL, `http://127.0.0.1:${await freePort()}`, extra));
    return { store, config };
  }

  it.skipIf(!model)('streams the store model’s answer and names the embedded last resort on stderr', async () => {
    const { store, config } = await storeAndDownConfig('streamed', '');
    const run = await unity(['ask', 'Once upon a time', '--config', config], { env: { UNITY_MODELS_DIR: store } });
    expect(run.code).toBe(0);
    expect(run.stdout.trim().length).toBeGreaterThan(0);
    expect(run.stderr).toContain(`using the embedded engine with stories260K from the model store (${store}/`);
    expect(run.stderr).toContain('unity: answered by the embedded last resort llamacpp/stories260K after ');
  });

  it.skipIf(!model)(
    'uses no store model with cloud_llm.fallback_to_local: false, exit 1 with the chain’s failures',
    async () => {
      const { store, config } = await storeAndDownConfig('no-fallback', '');
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('fallback_to_local: true', 'fallback_to_local: false'),
      );
      const run = await unity(['ask', 'Once upon a time', '--config', config], { env: { UNITY_MODELS_DIR: store } });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('unity: no model could answer (1 in the chain)');
      expect(run.stderr).toContain('MINIMAX_API_KEY is not set');
      expect(run.stderr).not.toContain('embedded');
      expect(run.stderr).not.toContain('stories260K');
    },
  );

  it.skipIf(!model)('uses no store model with router.last_resort: none, exit 1 with the chain’s failures', async () => {
    const { store, config } = await storeAndDownConfig('last-resort-none', '  last_resort: none\n');
    const run = await unity(['ask', 'Once upon a time', '--config', config, '--json'], {
      env: { UNITY_MODELS_DIR: store },
    });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(run.stderr).toContain('[CONNECTION_FAILED]');
    expect(run.stderr).not.toContain('embedded');
  });

  it.skipIf(!model)('stops the embedded engine cleanly on Ctrl-C in the middle of its answer, exit 130', async () => {
    const store = join(dir, 'store-interrupt');
    await mkdir(store, { recursive: true });
    await symlink(model!, join(store, 'stories260K.gguf'));
    const nowhere = join(dir, 'nowhere-interrupt.yaml');
    await writeFile(nowhere, configYaml(cloud.baseURL, `http://127.0.0.1:${await freePort()}`));
    // Closing the engine under a generation that is still winding down crashed the process (a race: try thrice).
    for (let i = 0; i < 3; i++) {
      const run = await unity(['ask', 'Once upon a time', '--config', nowhere], {
        env: { UNITY_MODELS_DIR: store },
        interruptOnOutput: true,
      });
      expect(run.stderr).not.toContain('Error');
      expect(run.stderr).toContain('unity: interrupted');
      expect(run.code).toBe(130);
    }
  });

  it('reports a config error with its file, line and field, and exits 1', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'cloud_llm:\n  enabled: true\n  timeout_seconds: "ten"\n');
    const run = await unity(['ask', 'x', '--config', bad], { env: withKey });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bad.yaml:3: cloud_llm.timeout_seconds: expected number, got "ten"');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('finds the config through UNITY_CONFIG', async () => {
    const run = await unity(['ask', 'via env', '--json'], { env: { ...withKey, UNITY_CONFIG: configPath } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).provider).toBe('minimax');
  });

  it('reads the prompt from stdin when it is -', async () => {
    const run = await unity(['ask', '-', '--config', configPath], { env: withKey, stdin: 'piped question\n' });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('echo: piped question\n');
  });

  it('sends nothing to the cloud with --local-only', async () => {
    const run = await unity(['ask', 'private', '--config', configPath, '--local-only'], { env: withKey });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('echo: private\n');
    expect(cloud.requests).toHaveLength(0);
  });

  it('uses the role’s model, the system prompt, and prints the complete answer with --no-stream', async () => {
    const run = await unity(
      [
        'ask',
        'code it',
        '--config',
        configPath,
        '--local-only',
        '--role',
        'coding',
        '--system',
        'Be terse.',
        '--no-stream',
      ],
      { env: withKey },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('echo: code it\n');
    const body = ollama.requestsTo('/api/chat')[0]?.body as { model: string; stream: boolean; messages: unknown[] };
    expect(body.model).toBe('llama3.2:1b');
    expect(body.stream).toBe(false);
    expect(body.messages[0]).toEqual({ role: 'system', content: 'Be terse.' });
  });

  it('rejects an unknown role with the choices', async () => {
    const run = await unity(['ask', 'x', '--role', 'poetry']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Allowed choices are reasoning, coding, fallback');
  });

  it('ends a stream broken after its first token with the text so far and an error, exit 1', async () => {
    cloud.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four' } });
    const run = await unity(['ask', 'count', '--config', configPath], { env: withKey });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('one two \n');
    expect(run.stderr).toContain('broke off after it had started');
    expect(ollama.requestsTo('/api/chat')).toHaveLength(0);
  });
});
