import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedSystemYaml } from '@unity/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cloudApiKeyEnv, defaultConfig, loadConfig, ollamaHost, parseConfig } from './config';
import { ConfigError } from './errors';

const seedYaml = seedSystemYaml();

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it("accepts the seed's configs/system.yaml as written and equals the built-in defaults", () => {
    const config = parseConfig(seedYaml, 'configs/system.yaml');
    expect(config).toEqual(defaultConfig);
    expect(config.cloud_llm).toMatchObject({ provider: 'minimax', model: 'MiniMax-M2', timeout_seconds: 3600 });
    expect(config.models.coding).toBe('ollama_chat/qwen2.5-coder:7b');
    expect(config.convergence_warnings).toEqual([50, 100, 200, 500]);
  });

  it('names the file, line and field of a wrongly typed value, with what it got', () => {
    const error = configError(() =>
      parseConfig(
        'cloud_llm:\n  enabled: true\n  provider: minimax\n  timeout_seconds: "ten"\n',
        'configs/system.yaml',
      ),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('configs/system.yaml:4: cloud_llm.timeout_seconds: expected number, got "ten"');
    expect(error.fix).toBe('set cloud_llm.timeout_seconds to a number');
  });

  it('names the line of an unknown key and lists the known ones', () => {
    const error = configError(() => parseConfig('cloud_llm:\n  enabled: true\n  timeout_second: 10\n', 'x.yaml'));
    expect(error.message).toContain('x.yaml:3: cloud_llm: unknown key timeout_second');
    expect(error.fix).toContain('known keys: enabled, provider, model');
  });

  it('rejects an unknown model prefix at its line and lists the known providers', () => {
    const error = configError(() =>
      parseConfig('models:\n  reasoning: ollama_chat/qwen2.5-coder:7b\n  coding: anthropic/claude\n', 'c.yaml'),
    );
    expect(error.message).toContain('c.yaml:3: models.coding: unknown provider "anthropic"');
    expect(error.fix).toContain('ollama_chat');
  });

  it('rejects a cloud provider outside the known ones with the choices', () => {
    const error = configError(() => parseConfig('cloud_llm:\n  provider: anthropic\n', 'c.yaml'));
    expect(error.message).toContain(
      'c.yaml:2: cloud_llm.provider: expected one of "minimax", "openai", got "anthropic"',
    );
  });

  it('reports a YAML syntax error with its line', () => {
    const error = configError(() => parseConfig('cloud_llm:\n  enabled: true\n model: x\n', 'bad.yaml'));
    expect(error.message).toMatch(/^bad\.yaml:3: not valid YAML/);
  });

  it('reports every problem, not only the first', () => {
    const error = configError(() =>
      parseConfig('cloud_llm:\n  enabled: "yes"\nrouter:\n  breaker:\n    failure_threshold: 0\n', 'c.yaml'),
    );
    expect(error.message).toContain('c.yaml:2: cloud_llm.enabled: expected boolean, got "yes"');
    expect(error.message).toContain('c.yaml:5: router.breaker.failure_threshold');
    expect(error.fix).toBe(
      'one per problem:\n  - set cloud_llm.enabled to a boolean\n  - set router.breaker.failure_threshold to a larger value',
    );
  });

  it('keeps sections other packages own', () => {
    const config = parseConfig('domains:\n  research:\n    role: reasoning\n', 'c.yaml');
    expect(config.domains).toEqual({ research: { role: 'reasoning' } });
  });

  it('treats an empty file as all defaults', () => {
    expect(parseConfig('', 'empty.yaml')).toEqual(defaultConfig);
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('uses the built-in defaults when no file is named or present', async () => {
    const { config, source } = await loadConfig({ cwd: dir, env: {} });
    expect(source).toBe('built-in defaults');
    expect(config).toEqual(defaultConfig);
  });

  it('reads ./configs/system.yaml from the working directory', async () => {
    await mkdir(join(dir, 'configs'));
    await writeFile(join(dir, 'configs', 'system.yaml'), 'cloud_llm:\n  enabled: false\n');
    const { config, source } = await loadConfig({ cwd: dir, env: {} });
    expect(source).toBe(join('configs', 'system.yaml'));
    expect(config.cloud_llm.enabled).toBe(false);
  });

  it('prefers UNITY_CONFIG over ./configs/system.yaml, and an explicit path over both', async () => {
    await mkdir(join(dir, 'configs'));
    await writeFile(join(dir, 'configs', 'system.yaml'), 'cloud_llm:\n  model: from-cwd\n');
    await writeFile(join(dir, 'env.yaml'), 'cloud_llm:\n  model: from-env\n');
    await writeFile(join(dir, 'explicit.yaml'), 'cloud_llm:\n  model: from-path\n');
    const fromEnv = await loadConfig({ cwd: dir, env: { UNITY_CONFIG: 'env.yaml' } });
    expect(fromEnv.config.cloud_llm.model).toBe('from-env');
    const explicit = await loadConfig({ cwd: dir, env: { UNITY_CONFIG: 'env.yaml' }, path: 'explicit.yaml' });
    expect(explicit.config.cloud_llm.model).toBe('from-path');
    expect(explicit.source).toBe('explicit.yaml');
  });

  it('fails with CONFIG_NOT_FOUND naming the file and where it came from when a named file is missing', async () => {
    const error = await loadConfig({ cwd: dir, env: { UNITY_CONFIG: 'nope.yaml' } }).catch((e) => e);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toContain('nope.yaml (from UNITY_CONFIG) cannot be read: no such file');
  });

  it('names the file it read in validation errors', async () => {
    await writeFile(join(dir, 'c.yaml'), 'cloud_llm:\n  max_tokens: many\n');
    const error = await loadConfig({ cwd: dir, path: 'c.yaml' }).catch((e) => e);
    expect(error.message).toContain('c.yaml:2: cloud_llm.max_tokens: expected number, got "many"');
  });
});

describe('settings taken from the environment', () => {
  it('reads the key from the provider’s usual variable unless api_key_env names another', () => {
    expect(cloudApiKeyEnv(defaultConfig)).toBe('MINIMAX_API_KEY');
    expect(cloudApiKeyEnv(parseConfig('cloud_llm:\n  provider: openai\n'))).toBe('OPENAI_API_KEY');
    expect(cloudApiKeyEnv(parseConfig('cloud_llm:\n  api_key_env: MY_KEY\n'))).toBe('MY_KEY');
  });

  it('takes the Ollama host from the config, else OLLAMA_HOST, else the default', () => {
    expect(ollamaHost(defaultConfig, {})).toBe('http://127.0.0.1:11434');
    expect(ollamaHost(defaultConfig, { OLLAMA_HOST: '10.0.0.5:11434' })).toBe('http://10.0.0.5:11434');
    const configured = parseConfig('ollama:\n  host: http://gpu-box:11434\n');
    expect(ollamaHost(configured, { OLLAMA_HOST: 'elsewhere:1' })).toBe('http://gpu-box:11434');
  });
});

describe('extra config sections', () => {
  const sections = { agent: z.strictObject({ max_steps: z.number().int().positive().default(7) }).prefault({}) };

  it('validates another package’s section with the router’s, defaults included', () => {
    expect(parseConfig('agent:\n  max_steps: 3\n', 'c.yaml', sections).agent).toEqual({ max_steps: 3 });
    expect(parseConfig('', 'c.yaml', sections).agent).toEqual({ max_steps: 7 });
  });

  it('reports a bad value in that section with the file, line and field', () => {
    const error = configError(() =>
      parseConfig('cloud_llm:\n  enabled: true\nagent:\n  max_steps: "many"\n', 'c.yaml', sections),
    );
    expect(error.message).toContain('c.yaml:4: agent.max_steps: expected number, got "many"');
  });

  it('applies the sections to the built-in defaults when there is no file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unity-sections-'));
    const { config, source } = await loadConfig({ cwd: dir, sections });
    expect(source).toBe('built-in defaults');
    expect(config.agent.max_steps).toBe(7);
  });
});

describe('misspelt sections', () => {
  it('refuses a top-level key one or two edits from a known section, naming the line and the right name', () => {
    const error = configError(() =>
      parseConfig('models:\n  coding: ollama_chat/x:1b\ncloud_lm:\n  enabled: false\n', 'c.yaml'),
    );
    expect(error.message).toContain('c.yaml:3: unknown section cloud_lm: (did you mean cloud_llm:?)');
  });

  it('keeps sections that other packages read, whose names are far from the router’s', () => {
    expect(() =>
      parseConfig('domains:\n  research:\n    model: reasoning\nagent: {}\nserver: {}\n', 'c.yaml'),
    ).not.toThrow();
  });
});
