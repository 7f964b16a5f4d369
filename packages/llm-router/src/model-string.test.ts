import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { parseModelString } from './model-string';

describe('parseModelString', () => {
  it('splits the seed model strings into provider kind and model', () => {
    expect(parseModelString('ollama_chat/qwen2.5-coder:7b')).toEqual({
      prefix: 'ollama_chat',
      kind: 'ollama',
      model: 'qwen2.5-coder:7b',
    });
    expect(parseModelString('minimax/MiniMax-M2').kind).toBe('openai-compatible');
  });

  it('keeps slashes inside the model name', () => {
    expect(parseModelString('openai/meta-llama/Llama-3-8B').model).toBe('meta-llama/Llama-3-8B');
  });

  it('rejects an unknown prefix with a config error listing the known ones', () => {
    const error = (() => {
      try {
        parseModelString('anthropic/claude', 'models.coding');
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).code).toBe('UNKNOWN_PROVIDER');
    expect((error as ConfigError).message).toContain('models.coding: unknown provider "anthropic"');
    expect((error as ConfigError).message).toContain('ollama_chat');
  });

  it('rejects a string without a prefix', () => {
    expect(() => parseModelString('qwen2.5-coder:7b')).toThrow('has no provider prefix');
  });
});
