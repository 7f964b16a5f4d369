import { describe, expect, it } from 'vitest';
import { isBareOllamaName } from './ollama-name';

describe('isBareOllamaName', () => {
  it('accepts names with and without a tag, and nothing with a prefix, a space or a leading symbol', () => {
    expect(['qwen2.5-coder:7b', 'llama3.2', 'mistral:latest'].map(isBareOllamaName)).toEqual([true, true, true]);
    expect(['ollama_chat/qwen2.5-coder:7b', 'qwen 2.5', ':7b', '/models/x.gguf', ''].map(isBareOllamaName)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
