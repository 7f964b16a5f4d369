import { describe, expect, it } from 'vitest';
import { agentSettingsFromConfig } from './agent-config';
import { ConvergenceError } from './errors';

function problem(config: Record<string, unknown>): string {
  try {
    agentSettingsFromConfig(config);
  } catch (error) {
    if (ConvergenceError.isInstance(error)) return error.message;
    throw error;
  }
  throw new Error('expected a ConvergenceError');
}

describe('agentSettingsFromConfig', () => {
  it("reads the seed's max_iterations and convergence_warnings", () => {
    expect(
      agentSettingsFromConfig({ cloud_llm: { max_iterations: 1000 }, convergence_warnings: [50, 100, 200, 500] }),
    ).toEqual({ maxIterations: 1000, convergenceWarnings: [50, 100, 200, 500] });
  });

  it('reads stuck thresholds and budgets with prices from the agent section', () => {
    const settings = agentSettingsFromConfig({
      agent: {
        stuck: { repeated_call: 5, empty_replies: 3 },
        budget: {
          max_tokens: 100000,
          max_seconds: 90,
          max_cost: 2.5,
          prices: { 'MiniMax-M2': { input_per_1k: 0.3, output_per_1k: 1.2 } },
        },
      },
    });
    expect(settings).toEqual({
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
    expect(agentSettingsFromConfig({ agent: { stuck: false } })).toEqual({ stuck: false });
  });

  it('names the path of an invalid value and what was expected', () => {
    expect(problem({ agent: { budget: { max_seconds: 'ten' } } })).toContain(
      'config: agent.budget.max_seconds: expected a positive number, got "ten"',
    );
    expect(problem({ convergence_warnings: [50, 0] })).toContain('config: convergence_warnings[1]');
    expect(problem({ agent: { stuck: { repeat: 3 } } })).toContain(
      'config: agent.stuck.repeat: unknown setting (known: repeated_call, repeated_failure',
    );
  });

  it('names the file the config came from', () => {
    expect(() => agentSettingsFromConfig({ cloud_llm: { max_iterations: 0 } }, 'configs/system.yaml')).toThrow(
      'configs/system.yaml: cloud_llm.max_iterations: expected a positive integer, got 0',
    );
  });

  it('refuses a cost budget without prices', () => {
    expect(problem({ agent: { budget: { max_cost: 1 } } })).toContain('config: agent.budget.prices');
  });
});
