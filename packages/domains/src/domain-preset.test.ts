import { describe, expect, it } from 'vitest';
import { domainPresetSchema, isDomainRole } from './domain-preset';

const valid = { name: 'sql', description: 'd', model: 'coding', systemPrompt: 's' };

describe('domainPresetSchema', () => {
  it('names each field that is wrong', () => {
    const result = domainPresetSchema.safeParse({ ...valid, name: 'Bad Name', temperature: 5 });
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['name', 'temperature']);
  });

  it('fills the defaults: no tools, temperature 0.2, the seed loop limits', () => {
    expect(domainPresetSchema.parse(valid)).toMatchObject({
      tools: [],
      temperature: 0.2,
      keywords: [],
      limits: { maxIterations: 1000, convergenceWarnings: [50, 100, 200, 500] },
    });
  });

  it('accepts a role, a prefixed model string or a bare Ollama name as the model preference, nothing else', () => {
    expect(domainPresetSchema.parse({ ...valid, model: 'fallback' }).model).toBe('fallback');
    expect(domainPresetSchema.parse({ ...valid, model: 'minimax/MiniMax-M2' }).model).toBe('minimax/MiniMax-M2');
    expect(domainPresetSchema.parse({ ...valid, model: 'qwen2.5-coder:7b' }).model).toBe(
      'ollama_chat/qwen2.5-coder:7b',
    );
    const bad = domainPresetSchema.safeParse({ ...valid, model: 'qwen 2.5 coder' });
    expect(bad.error?.issues[0]?.message).toContain('an Ollama model name like qwen2.5-coder:7b');
  });
});

describe('isDomainRole', () => {
  it('knows the three router roles', () => {
    expect(['reasoning', 'coding', 'fallback', 'ollama_chat/x'].map(isDomainRole)).toEqual([true, true, true, false]);
  });
});
