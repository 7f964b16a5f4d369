import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeHub, freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../bin/unity.js', import.meta.url).pathname;
const modelPath = sharedModelPath();
if (!modelPath) console.warn('skipping `unity models` tests: ../shared/models/stories260K.gguf is absent');
const sha = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';

let server: Server;
let origin: string;
let dir: string;

beforeAll(async () => {
  const model = modelPath ? readFileSync(modelPath) : Buffer.alloc(0);
  server = createServer((req, res) => {
    if (req.url !== '/stories260K.gguf') {
      res.writeHead(404).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-length': model.length }).end(model);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-models-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const unity = (...args: string[]) =>
  run(process.execPath, [bin, 'models', ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir } });
const failure = (...args: string[]) =>
  unity(...args).then(
    () => {
      throw new Error('expected the command to fail');
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe.skipIf(!modelPath)('unity models (built binary)', () => {
  it('pulls a model with its sha256, then lists it with the facts from its header', async () => {
    const pulled = await unity('pull', `${origin}/stories260K.gguf`, '--dir', dir, '--sha256', sha);
    expect(pulled.stdout).toContain(`pulled stories260K (1.2 MB, sha256 ${sha} as expected) into ${dir}`);
    expect(pulled.stdout).toContain('use it as llamacpp/stories260K');

    const { stdout } = await unity('list', '--json', '--dir', dir);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({
        name: 'stories260K',
        bytes: 1_185_376,
        architecture: 'llama',
        contextLength: 2048,
        parameterCount: 292_800,
        quantization: 'F32',
      }),
    ]);
    const table = await unity('list', '--dir', dir);
    expect(table.stdout).toMatch(/^NAME\s+SIZE\s+ARCH\s+CONTEXT\s+PARAMS\s+QUANT\n/);
    expect(table.stdout).toMatch(/stories260K\s+1\.2 MB\s+llama\s+2048\s+292\.8K\s+F32/);
  });

  it('keeps the store under ~/.unity/models by default', async () => {
    await unity('pull', `${origin}/stories260K.gguf`);
    expect(await readdir(join(dir, '.unity', 'models'))).toEqual(['stories260K.gguf']);
  });

  it('removes a model by name', async () => {
    await unity('pull', `${origin}/stories260K.gguf`, '--dir', dir);
    const { stdout } = await unity('rm', 'stories260K', '--dir', dir);
    expect(stdout).toBe(`removed ${join(dir, 'stories260K.gguf')}\n`);
    expect((await unity('list', '--dir', dir)).stdout).toContain(`no models in ${dir}`);
  });

  it('fails on a wrong sha256 with the reason and no stack trace, keeping nothing', async () => {
    const error = await failure('pull', `${origin}/stories260K.gguf`, '--dir', dir, '--sha256', '0'.repeat(64));
    expect(error.code).toBe(1);
    expect(error.stderr).toContain(`has sha256 ${sha}, not the expected ${'0'.repeat(64)}`);
    expect(error.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails on a 404 naming the URL', async () => {
    const error = await failure('pull', `${origin}/missing.gguf`, '--dir', dir);
    expect(error.code).toBe(1);
    expect(error.stderr).toContain(`unity: download of ${origin}/missing.gguf failed: HTTP 404`);
  });

  const pullDefault = (env: Record<string, string>) =>
    run(process.execPath, [bin, 'models', 'pull', 'default', '--dir', dir], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
    });

  it('pulls `default` from the hub in UNITY_DEFAULT_MODEL, checked against the sha256 the hub publishes', async () => {
    const hub = await FakeHub.start({
      files: [{ repo: 'me/tiny-GGUF', path: 'tiny.gguf', bytes: readFileSync(modelPath!) }],
    });
    try {
      const url = hub.resolveUrl('me/tiny-GGUF', 'tiny.gguf', hub.commit);
      const { stdout, stderr } = await pullDefault({ UNITY_DEFAULT_MODEL: url });
      expect(stderr).toContain(
        `pulling the default model tiny (size unknown) from ${url} (llamacpp.default_model or UNITY_DEFAULT_MODEL)`,
      );
      expect(stdout).toContain(
        `pulled tiny (1.2 MB, sha256 ${sha}, as the hub published it at commit ${hub.commit}) into ${dir}`,
      );
      expect(await readdir(dir)).toEqual(['tiny.gguf']);
    } finally {
      await hub.close();
    }
  });

  it('pulls `default` from a local file in UNITY_DEFAULT_MODEL (offline machines, CI)', async () => {
    const { stdout } = await pullDefault({ UNITY_DEFAULT_MODEL: modelPath! });
    expect(stdout).toContain(
      `pulled stories260K (1.2 MB, sha256 ${sha}, not verified: no sha256 was given or published)`,
    );
    expect(await readdir(dir)).toEqual(['stories260K.gguf']);
  });

  it('names the bad UNITY_DEFAULT_MODEL and the fix when it is neither a URL nor a file', async () => {
    const error = await pullDefault({ UNITY_DEFAULT_MODEL: join(dir, 'absent.gguf') }).then(
      () => {
        throw new Error('expected the pull to fail');
      },
      (e: { code: number; stderr: string }) => e,
    );
    expect(error.code).toBe(1);
    expect(error.stderr).toContain(
      `cannot pull "${join(dir, 'absent.gguf')}": it is neither a URL nor an hf: reference`,
    );
    expect(error.stderr).toContain('Fix: give an http(s) URL of a .gguf file');
  });

  it('pulls into the config’s llamacpp.store_dir, where the router then finds the model', async () => {
    const store = join(dir, 'configured-store');
    const config = join(dir, 'system.yaml');
    await writeFile(
      config,
      [
        'cloud_llm:',
        '  enabled: false',
        'ollama:',
        `  host: http://127.0.0.1:${await freePort()}`,
        'llamacpp:',
        `  store_dir: ${store}`,
        '  threads: 1',
        '  context_size: 512',
        '',
      ].join('\n'),
    );
    const pulled = await unity('pull', `${origin}/stories260K.gguf`, '--config', config);
    expect(pulled.stdout).toContain(`into ${store}`);
    expect(await readdir(store)).toEqual(['stories260K.gguf']);
    const listed = JSON.parse((await unity('list', '--json', '--config', config)).stdout);
    expect(listed.map((m: { path: string }) => m.path)).toEqual([join(store, 'stories260K.gguf')]);
    // Nothing configured can answer (no cloud, no Ollama): the router's last resort finds the pulled model.
    const asked = await run(process.execPath, [bin, 'ask', 'Once upon a time', '--config', config, '--json'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    });
    expect(JSON.parse(asked.stdout)).toMatchObject({ provider: 'llamacpp', model: 'stories260K' });
  });

  it('stops a pull on Ctrl-C with status 130, keeping the .part file to resume', async () => {
    const slow = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': 10_000_000 });
      res.write(Buffer.alloc(65_536)); // then nothing more: the transfer hangs until interrupted
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/big.gguf`;
      const child = spawn(process.execPath, [bin, 'models', 'pull', url, '--dir', dir], {
        env: { PATH: process.env.PATH ?? '', HOME: dir },
      });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      await vi.waitFor(async () => expect((await readdir(dir)).some((f) => f.endsWith('.part'))).toBe(true), {
        timeout: 10_000,
      });
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(130);
      expect(stderr).toContain('unity: interrupted');
      expect(stderr).not.toMatch(/\n\s+at /);
      expect((await readdir(dir)).some((f) => f.endsWith('.part'))).toBe(true);
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  it('fails to remove a model the store does not hold', async () => {
    const error = await failure('rm', 'nope', '--dir', dir);
    expect(error.code).toBe(1);
    expect(error.stderr).toContain(`no model "nope" in ${dir}`);
  });
});
