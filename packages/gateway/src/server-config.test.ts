import { ConfigError, parseConfig } from '@unity/llm-router';
import { describe, expect, it } from 'vitest';
import { catalogFromConfig, serverConfigSchema } from './server-config';
import { localModelString } from './start-server';

describe('serverConfigSchema', () => {
  const sections = { server: serverConfigSchema };

  it('fills the defaults of the server section', () => {
    expect(parseConfig('', 'built-in defaults', sections).server).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      api_key_env: 'UNITY_API_KEY',
      health_interval_seconds: 5,
      drain_timeout_seconds: 10,
    });
  });

  it('names the file, line and field of a bad value', () => {
    const error = (() => {
      try {
        parseConfig('server:\n  port: eighty\n', 'configs/system.yaml', sections);
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^configs\/system.yaml:2: server.port: expected number, got "eighty"/);
  });
});

describe('catalogFromConfig', () => {
  it('serves the default chain, local-only, each role, the cloud model and each local model', () => {
    const config = parseConfig('models:\n  coding: ollama_chat/llama3.2:1b\n');
    expect(catalogFromConfig(config).map((m) => [m.id, m.route])).toEqual([
      ['unity', {}],
      ['local', { localOnly: true }],
      ['reasoning', { role: 'reasoning' }],
      ['coding', { role: 'coding' }],
      ['fallback', { role: 'fallback' }],
      ['minimax/MiniMax-M2', { model: 'minimax/MiniMax-M2' }],
      ['ollama_chat/qwen2.5-coder:7b', { model: 'ollama_chat/qwen2.5-coder:7b' }],
      ['ollama_chat/llama3.2:1b', { model: 'ollama_chat/llama3.2:1b' }],
    ]);
  });
});

describe('localModelString', () => {
  it('keeps a model string and gives the embedded engine anything else', () => {
    expect(localModelString('llamacpp/stories260K')).toBe('llamacpp/stories260K');
    expect(localModelString('ollama_chat/qwen2.5-coder:7b')).toBe('ollama_chat/qwen2.5-coder:7b');
    expect(localModelString('stories260K')).toBe('llamacpp/stories260K');
    expect(localModelString('./models/tiny.gguf')).toBe('llamacpp/./models/tiny.gguf');
  });
});
