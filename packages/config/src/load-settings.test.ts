import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { describeOrigin, explainSettings } from './explain-settings';
import { loadSettings, settingsFromText } from './load-settings';

const schema = z.looseObject({
  ollama: z.strictObject({ host: z.url().optional(), max_context: z.number().int().default(32_768) }).prefault({}),
  server: z.strictObject({ port: z.number().int().default(8787), api_key: z.string().optional() }).prefault({}),
  cloud_llm: z.strictObject({ base_url: z.string().optional() }).prefault({}),
});
const envBindings = [
  { path: ['ollama', 'host'], env: 'OLLAMA_HOST', map: (v: string) => (v.includes('://') ? v : `http://${v}`) },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-settings-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadSettings', () => {
  it('finds ./configs/system.yaml, and says where each value came from: file line, environment, default', async () => {
    await mkdir(join(dir, 'configs'));
    await writeFile(join(dir, 'configs', 'system.yaml'), 'server:\n  port: 9000\n');
    const loaded = await loadSettings({ schema, cwd: dir, env: { OLLAMA_HOST: '10.1.2.3:11434' }, envBindings });
    expect(loaded.source).toBe(join('configs', 'system.yaml'));
    expect(loaded.config.server.port).toBe(9000);
    expect(loaded.config.ollama.host).toBe('http://10.1.2.3:11434');
    expect(describeOrigin(loaded.originOf(['server', 'port']))).toBe('configs/system.yaml:2');
    expect(describeOrigin(loaded.originOf(['ollama', 'host']))).toBe('env OLLAMA_HOST');
    expect(describeOrigin(loaded.originOf(['ollama', 'max_context']))).toBe('default');
  });

  it('lets the file win over the environment', () => {
    const loaded = settingsFromText('ollama:\n  host: http://gpu:11434\n', 'a.yaml', {
      schema,
      env: { OLLAMA_HOST: 'other:1' },
      envBindings,
    });
    expect(loaded.config.ollama.host).toBe('http://gpu:11434');
    expect(loaded.originOf(['ollama', 'host'])).toEqual({ kind: 'file', file: 'a.yaml', line: 2 });
  });

  it('names the environment variable in the error when its value is invalid', () => {
    expect(() =>
      settingsFromText('', 'a.yaml', {
        schema,
        env: { OLLAMA_HOST: 'http://' },
        envBindings,
      }),
    ).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/^ollama\.host: .* \(from the environment variable OLLAMA_HOST\)$/),
        fix: expect.stringMatching(/^fix or unset OLLAMA_HOST/),
      }),
    );
  });

  it('reads UNITY_CONFIG, and refuses a named file that does not exist, naming where the name came from', async () => {
    await writeFile(join(dir, 'mine.yaml'), 'server:\n  port: 1234\n');
    const loaded = await loadSettings({ schema, cwd: dir, env: { UNITY_CONFIG: 'mine.yaml' } });
    expect(loaded.config.server.port).toBe(1234);
    const error = await loadSettings({ schema, cwd: dir, path: 'nope.yaml' }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(error) && error.code).toBe('CONFIG_NOT_FOUND');
    expect((error as Error).message).toContain('nope.yaml (from --config) cannot be read: no such file');
  });

  it('uses the built-in defaults when there is no file, every value from the defaults', async () => {
    const loaded = await loadSettings({ schema, cwd: dir });
    expect(loaded.source).toBe('built-in defaults');
    expect(loaded.originOf(['server', 'port'])).toEqual({ kind: 'default' });
  });

  it('refuses a misspelt section and a wrong value with file, line and field', () => {
    expect(() => settingsFromText('olama:\n  host: x\n', 'b.yaml', { schema })).toThrow(
      'b.yaml:1: unknown section olama: (did you mean ollama:?)',
    );
    expect(() => settingsFromText('server:\n  port: ten\n', 'b.yaml', { schema })).toThrow(
      'b.yaml:2: server.port: expected number, got "ten"',
    );
  });
});

describe('explainSettings', () => {
  it('lists every value with its origin, secrets masked and URL passwords redacted', () => {
    const loaded = settingsFromText(
      'server:\n  api_key: sk-live-123456\ncloud_llm:\n  base_url: http://user:hunter2@vllm.local/v1\n',
      'c.yaml',
      { schema },
    );
    const rows = explainSettings(loaded);
    expect(rows).toContainEqual({
      path: 'server.api_key',
      value: '********',
      origin: { kind: 'file', file: 'c.yaml', line: 2 },
    });
    expect(rows.find((r) => r.path === 'cloud_llm.base_url')?.value).toBe('http://user:[redacted]@vllm.local/v1');
    expect(rows.find((r) => r.path === 'ollama.max_context')).toEqual({
      path: 'ollama.max_context',
      value: 32_768,
      origin: { kind: 'default' },
    });
    expect(JSON.stringify(rows)).not.toMatch(/sk-live|hunter2/);
  });
});
