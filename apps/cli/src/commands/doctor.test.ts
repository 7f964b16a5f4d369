import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunningServer, startServer } from '@unity/gateway';
import { FakeOllama, FakeOpenAI, freePort, gatewayConfigYaml } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatResults } from './doctor';

const exec = promisify(execFile);
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const key = 'sk-doctor-cli';

let ollama: FakeOllama;
let cloud: FakeOpenAI;
let dir: string;
beforeAll(async () => {
  // A small model, so that the memory check passes on any machine.
  ollama = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b', size: 50_000_000 }] });
  cloud = await FakeOpenAI.start({ apiKey: key });
});
afterAll(async () => {
  await Promise.all([ollama.close(), cloud.close()]);
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-doctor-'));
  ollama.reset();
  cloud.reset();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The seed's config pointed at the fakes; `cloud` lines go under cloud_llm:, `sections` after it. */
async function writeConfig(
  options: { cloud?: string[]; sections?: string[]; ollamaHost?: string } = {},
): Promise<string> {
  const file = join(dir, 'system.yaml');
  await writeFile(
    file,
    [
      'cloud_llm:',
      '  provider: minimax',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      ...(options.cloud ?? []).map((l) => `  ${l}`),
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  coding: ollama_chat/qwen2.5-coder:7b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'diagnostics:',
      '  require_models: ["qwen2.5-coder:7b"]',
      'ollama:',
      `  host: ${options.ollamaHost ?? ollama.host}`,
      ...(options.sections ?? []),
      '',
    ].join('\n'),
  );
  return file;
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const name of ['MINIMAX_API_KEY', 'OPENAI_API_KEY', 'UNITY_CONFIG', 'OLLAMA_HOST', 'FORCE_COLOR']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

async function doctor(args: string[], env = environment({ MINIMAX_API_KEY: key })) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, 'doctor', ...args], { cwd: dir, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The line of the table for a check title. */
const row = (stdout: string, title: string) => stdout.split('\n').find((l) => l.slice(2).startsWith(title)) ?? '';

describe('unity doctor', () => {
  it('exits 0 with every check ✓ when Ollama, the model and the cloud are healthy', async () => {
    const config = await writeConfig();
    const { code, stdout } = await doctor(['--config', config]);
    expect(stdout).toMatch(/^✓ Config valid\s+.*system\.yaml$/m);
    for (const title of [
      'Ollama reachable',
      'Model qwen2.5-coder:7b pulled',
      'Cloud key (MINIMAX_API_KEY)',
      'Cloud endpoint',
    ]) {
      expect(row(stdout, title)).toMatch(/^✓ /);
    }
    expect(stdout).toContain('0 failed');
    expect(code).toBe(0);
  });

  it('exits 1 when Ollama is down, with ✗ and `ollama serve` as the fix', async () => {
    const config = await writeConfig({ ollamaHost: `http://127.0.0.1:${await freePort()}` });
    const { code, stdout } = await doctor(['--config', config]);
    expect(row(stdout, 'Ollama reachable')).toMatch(/^✗ Ollama reachable\s+Ollama is not reachable at/);
    expect(stdout).toMatch(/fix: start it: `ollama serve`/);
    expect(row(stdout, 'Model qwen2.5-coder:7b pulled')).toMatch(/^- .*not checked: Ollama reachable failed/);
    expect(code).toBe(1);
  });

  it('exits 1 when a required model is not pulled, naming `ollama pull`', async () => {
    const other = await FakeOllama.start({ models: [{ name: 'llama3.2:1b', size: 1e6 }] });
    try {
      const { code, stdout } = await doctor(['--config', await writeConfig({ ollamaHost: other.host })]);
      expect(row(stdout, 'Model qwen2.5-coder:7b pulled')).toContain('✗');
      expect(stdout).toContain('fix: `ollama pull qwen2.5-coder:7b`');
      expect(code).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('exits 1 when the required model does not support tools', async () => {
    const other = await FakeOllama.start({
      models: [{ name: 'qwen2.5-coder:7b', size: 1e6, capabilities: ['completion'] }],
    });
    try {
      const { code, stdout } = await doctor(['--config', await writeConfig({ ollamaHost: other.host })]);
      expect(row(stdout, 'Model qwen2.5-coder:7b capabilities')).toMatch(/✗ .*does not support tools/);
      expect(code).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('warns (exit 0) about a missing key while fallback_to_local is on', async () => {
    const { code, stdout } = await doctor(['--config', await writeConfig()], environment());
    expect(row(stdout, 'Cloud key (MINIMAX_API_KEY)')).toMatch(/^! .*MINIMAX_API_KEY is not set/);
    expect(stdout).toContain('fix: `export MINIMAX_API_KEY=<your key>`');
    expect(code).toBe(0);
  });

  it('fails (exit 1) on a missing key when fallback_to_local is off', async () => {
    const config = await writeConfig({ cloud: ['fallback_to_local: false'] });
    const { code, stdout } = await doctor(['--config', config], environment());
    expect(row(stdout, 'Cloud key (MINIMAX_API_KEY)')).toMatch(/^✗ /);
    expect(code).toBe(1);
  });

  it('reports the cloud rejecting the key', async () => {
    const { stdout } = await doctor(['--config', await writeConfig()], environment({ MINIMAX_API_KEY: 'revoked' }));
    expect(row(stdout, 'Cloud endpoint')).toMatch(/rejected the key in MINIMAX_API_KEY: HTTP 401/);
  });

  it('reports a bad config with its file, line and field, and exits 1', async () => {
    const config = join(dir, 'system.yaml');
    await writeFile(config, 'cloud_llm:\n  enabled: true\n  timeout_seconds: ten\n');
    const { code, stdout, stderr } = await doctor(['--config', config]);
    expect(row(stdout, 'Config valid')).toContain(`✗ Config valid`);
    expect(stdout).toContain(`${config}:3: cloud_llm.timeout_seconds: expected number, got "ten"`);
    expect(stderr).toBe('');
    expect(code).toBe(1);
  });

  it('reports an invalid domain preset with its file, line and field', async () => {
    await mkdir(join(dir, 'domains'));
    await writeFile(
      join(dir, 'domains', 'sql.yaml'),
      'description: SQL\nmodel_preference: "no such model!"\nsystem_prompt: x\n',
    );
    const { code, stdout } = await doctor(['--config', await writeConfig()]);
    expect(row(stdout, 'Domain presets valid')).toContain('✗');
    expect(stdout).toContain(`${join(dir, 'domains', 'sql.yaml')}:2: model_preference:`);
    expect(code).toBe(1);
  });

  it('prints the results as JSON with --json', async () => {
    const { code, stdout } = await doctor(['--config', await writeConfig(), '--json'], environment());
    const report = JSON.parse(stdout) as { status: string; results: { id: string; status: string; fix?: string }[] };
    expect(report.status).toBe('warn');
    expect(report.results.find((r) => r.id === 'cloud-key')).toMatchObject({
      status: 'warn',
      fix: '`export MINIMAX_API_KEY=<your key>`',
    });
    expect(report.results.find((r) => r.id === 'ollama-reachable')?.status).toBe('ok');
    expect(code).toBe(0);
  });

  it('with --deep, makes one tool-call round trip per configured model', async () => {
    const script = (request: { body: Record<string, unknown> }) => {
      const messages = request.body.messages as { role: string }[];
      if (!request.body.tools || messages.some((m) => m.role === 'tool')) return { text: 'The sum is 42.' };
      return { toolCalls: [{ name: 'add', arguments: { a: 17, b: 25 } }] };
    };
    ollama.setDefault(script);
    cloud.setDefault(script);
    try {
      const { stdout } = await doctor(['--config', await writeConfig(), '--deep', '--json']);
      const report = JSON.parse(stdout) as { results: { id: string; status: string }[] };
      const deep = report.results.filter((r) => r.id.startsWith('tool-call:') || r.id.startsWith('latency:'));
      expect(deep.map((r) => r.id)).toEqual([
        'tool-call:minimax/MiniMax-M2',
        'latency:ollama_chat/qwen2.5-coder:7b',
        'tool-call:ollama_chat/qwen2.5-coder:7b',
      ]);
      expect(deep.filter((r) => r.id.startsWith('tool-call:')).map((r) => r.status)).toEqual(['ok', 'ok']);
      expect(cloud.requestsTo('/chat/completions')).toHaveLength(2);
    } finally {
      ollama.setDefault({ text: 'ok' });
      cloud.setDefault({ text: 'ok' });
    }
  });

  it('re-runs with --watch until interrupted', async () => {
    const config = await writeConfig();
    const child = spawn(process.execPath, [bin, 'doctor', '--config', config, '--watch', '--interval', '0.2'], {
      cwd: dir,
      env: environment({ MINIMAX_API_KEY: key }),
    });
    let stdout = '';
    const tables = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if ((stdout.match(/0 failed/g) ?? []).length >= 2) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await tables;
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect((stdout.match(/every 0\.2 s, Ctrl-C to stop/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(ollama.requestsTo('/api/version').length).toBeGreaterThanOrEqual(2);
  });
});

describe('unity doctor --gateway', () => {
  let gateway: RunningServer;
  let gatewayDir: string;

  beforeAll(async () => {
    gatewayDir = await mkdtemp(join(tmpdir(), 'unity-doctor-gateway-'));
    const configPath = join(gatewayDir, 'gateway.yaml');
    await writeFile(
      configPath,
      gatewayConfigYaml({
        cloudBaseUrl: cloud.baseURL,
        ollamaHost: ollama.host,
        server: { data_dir: join(gatewayDir, 'data') },
      }) +
        [
          'alerts:',
          '  evaluation_interval_seconds: 0.05',
          '  rules:',
          '    - {name: errors, kind: error_rate, threshold_percent: 10, window_seconds: 1.5, min_requests: 1}',
          '',
        ].join('\n'),
    );
    gateway = await startServer({ configPath, port: 0, env: { TEST_CLOUD_KEY: key } });
  });
  afterAll(async () => {
    await gateway.shutdown({ drainTimeoutMs: 500 });
    await rm(gatewayDir, { recursive: true, force: true });
  });

  it('prints the alerts of the gateway as they fire and resolve with --watch, and exits on Ctrl-C', async () => {
    const config = await writeConfig();
    const child = spawn(
      process.execPath,
      [bin, 'doctor', '--config', config, '--watch', '--interval', '0.2', '--gateway', gateway.address],
      { cwd: dir, env: environment({ MINIMAX_API_KEY: key }) },
    );
    let stdout = '';
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${stdout}`)), 20_000);
        const check = () => {
          if (!pattern.test(stdout)) return;
          child.stdout.off('data', check);
          clearTimeout(timer);
          resolve();
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await seen(new RegExp(`alerts · ${gateway.address} · 0 active`));

      ollama.enqueue({ fault: 'status', status: 500 });
      const failed = await fetch(`${gateway.address}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'fail' }] }),
      });
      expect(failed.status).toBeGreaterThanOrEqual(500);
      await seen(/FIRED +errors: error rate 100% over the last 1.5 s is above 10% \(1 of 1 requests\)/);
      await seen(/alerts · \S+ · 1 active\n.*✗ errors: error rate 100%/s);
      await seen(/RESOLVED +errors: error rate 100%/);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stdout.indexOf('FIRED')).toBeLessThan(stdout.indexOf('RESOLVED'));
  });

  it("looks for the gateway at the config's server address when --gateway names none", async () => {
    const { port } = new URL(gateway.address);
    const config = await writeConfig({ sections: ['server:', `  port: ${port}`] });
    const { code, stdout } = await doctor(['--config', config, '--gateway']);
    expect(code).toBe(0);
    expect(stdout).toContain(`alerts · http://127.0.0.1:${port} · 0 active`);
  });

  it('says when the gateway cannot be reached, without failing the checks', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { code, stdout } = await doctor(['--config', await writeConfig(), '--gateway', url]);
    expect(code).toBe(0);
    expect(stdout).toContain(`✗ cannot reach the gateway at ${url}: ECONNREFUSED`);
    expect(stdout).toContain('fix: start it with `unity serve`, or name another one with --gateway URL');
  });
});

describe('formatResults', () => {
  it('keeps the continuation lines of a multi-line message and fix in the message column', () => {
    const text = formatResults([
      {
        id: 'config',
        title: 'Config',
        required: true,
        ms: 1,
        status: 'fail',
        message: 'a:2: one\na:5: two',
        fix: 'x:\n  - y',
      },
    ]);
    const lines = text.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
    const column = lines[0]?.indexOf('a:2') ?? -1;
    expect(lines[1]?.indexOf('a:5')).toBe(column);
    expect(lines[3]?.indexOf('  - y')).toBe(column);
  });
});
