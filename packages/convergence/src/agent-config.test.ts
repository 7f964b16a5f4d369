import { describe, expect, it } from 'vitest';
import { agentConfigSection, agentSettingsFromConfig } from './agent-config';

const section = (value: unknown) => agentConfigSection.parse(value);

describe('agentSettingsFromConfig', () => {
  it("reads the seed's max_iterations and convergence_warnings", () => {
    expect(
      agentSettingsFromConfig({ cloud_llm: { max_iterations: 1000 }, convergence_warnings: [50, 100, 200, 500] }),
    ).toEqual({ maxIterations: 1000, convergenceWarnings: [50, 100, 200, 500] });
  });

  it('reads stuck thresholds and budgets with prices from the agent section', () => {
    const agent = section({
      stuck: { repeated_call: 5, empty_replies: 3 },
      budget: {
        max_tokens: 100000,
        max_seconds: 90,
        max_cost: 2.5,
        prices: { 'MiniMax-M2': { input_per_1k: 0.3, output_per_1k: 1.2 } },
      },
    });
    expect(agentSettingsFromConfig({ agent })).toEqual({
      stuck: { repeatedCall: 5, emptyReplies: 3 },
      budget: {
        maxTokens: 100000,
        maxTimeMs: 90000,
        maxCost: 2.5,
        prices: { 'MiniMax-M2': { inputPer1k: 0.3, outputPer1k: 1.2 } },
      },
    });
  });

  it('turns stuck detection off with stuck: false', () => {
    expect(agentSettingsFromConfig({ agent: section({ stuck: false }) })).toEqual({ stuck: false });
  });
});

describe('agentConfigSection', () => {
  const issues = (value: unknown) =>
    agentConfigSection.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('names the path of an invalid value and refuses unknown settings', () => {
    expect(issues({ budget: { max_seconds: 'ten' } })).toEqual([
      'budget.max_seconds: Invalid input: expected number, received string',
    ]);
    expect(issues({ stuck: { repeat: 3 } })[0]).toContain('stuck');
  });

  it('refuses a cost budget without prices', () => {
    expect(issues({ budget: { max_cost: 1 } })).toEqual([
      'budget.prices: max_cost needs prices per 1k tokens for at least one model',
    ]);
  });
});
