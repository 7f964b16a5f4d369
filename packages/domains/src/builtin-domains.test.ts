import { describe, expect, it } from 'vitest';
import { builtinDomains } from './builtin-domains';

describe('builtinDomains', () => {
  it('are the seed domains, in order', () => {
    expect(builtinDomains.map((d) => d.name)).toEqual([
      'calculation-heavy',
      'implementation-heavy',
      'reasoning',
      'research',
    ]);
  });

  it('put the calculation- and implementation-heavy domains on qwen2.5-coder:7b', () => {
    expect(builtinDomains.filter((d) => d.model === 'ollama_chat/qwen2.5-coder:7b').map((d) => d.name)).toEqual([
      'calculation-heavy',
      'implementation-heavy',
    ]);
  });

  it('use the seed loop limits', () => {
    for (const domain of builtinDomains) {
      expect(domain.limits).toEqual({ maxIterations: 1000, convergenceWarnings: [50, 100, 200, 500] });
    }
  });
});
