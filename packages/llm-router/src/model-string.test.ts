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
    expect((error as ConfigError).fix).toContain('ollama_chat');
  });

  it('takes a bare Ollama name as that model on Ollama, as the seed writes it', () => {
    expect(parseModelString('qwen2.5-coder:7b')).toEqual({
      prefix: 'ollama_chat',
      kind: 'ollama',
      model: 'qwen2.5-coder:7b',
    });
    expect(parseModelString('llama3.2')).toMatchObject({ kind: 'ollama', model: 'llama3.2' });
  });

  it('rejects a string that is neither prefixed nor an Ollama name', () => {
    expect(() => parseModelString('qwen 2.5 coder', 'domains.x.model_preference')).toThrow(
      'domains.x.model_preference: "qwen 2.5 coder" has no provider prefix',
    );
    expect(() => parseModelString('/models/x.gguf')).toThrow('has no provider prefix');
  });
});
