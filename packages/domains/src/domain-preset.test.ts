import { describe, expect, it } from 'vitest';
import { builtinDomains, domainPresetSchema } from './domain-preset';

describe('builtinDomains', () => {
  it('has the seed domains, the heavy ones on qwen2.5-coder:7b, with seed loop limits', () => {
    expect(builtinDomains.map((d) => d.name)).toEqual([
      'calculation-heavy',
      'implementation-heavy',
      'reasoning',
      'research',
    ]);
    expect(builtinDomains.filter((d) => d.model === 'ollama_chat/qwen2.5-coder:7b').map((d) => d.name)).toEqual([
      'calculation-heavy',
      'implementation-heavy',
    ]);
    expect(builtinDomains[0]?.limits).toEqual({ maxIterations: 1000, convergenceWarnings: [50, 100, 200, 500] });
  });
});

describe('domainPresetSchema', () => {
  it('names the field that is wrong', () => {
    const result = domainPresetSchema.safeParse({
      name: 'Bad Name',
      description: 'd',
      model: 'coding',
      tools: [],
      systemPrompt: 's',
      temperature: 5,
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['name', 'temperature']);
  });
});
