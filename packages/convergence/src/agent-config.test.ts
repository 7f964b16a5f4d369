import { ConfigError, parseConfig } from '@unity/llm-router';
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
        max_total_tokens: 100000,
        max_seconds: 90,
        max_cost_usd: 2.5,
        prices: { 'MiniMax-M2': { input_per_1k: 0.3, output_per_1k: 1.2 } },
      },
    });
    expect(agentSettingsFromConfig({ agent })).toEqual({
      stuck: { repeatedCall: 5, emptyReplies: 3 },
      budget: {
        maxTotalTokens: 100000,
        maxWallTimeMs: 90000,
        maxCostUsd: 2.5,
        prices: { 'MiniMax-M2': { inputPer1k: 0.3, outputPer1k: 1.2 } },
      },
    });
  });

  it('turns stuck detection off with stuck: false', () => {
    expect(agentSettingsFromConfig({ agent: section({ stuck: false }) })).toEqual({ stuck: false });
  });

  it('takes the top-level max_iterations over cloud_llm.max_iterations', () => {
    expect(agentSettingsFromConfig({ max_iterations: 300, cloud_llm: { max_iterations: 1000 } }).maxIterations).toBe(
      300,
    );
    expect(agentSettingsFromConfig({ cloud_llm: { max_iterations: 40 } }).maxIterations).toBe(40);
  });

  it('budgets the context from ollama.max_context, and reads agent.context or turns compaction off', () => {
    expect(agentSettingsFromConfig({ ollama: { max_context: 8192 } }).context).toEqual({ contextLength: 8192 });
    const context = section({ context: { max_prompt_tokens: 5000, keep_recent_messages: 12 } });
    expect(agentSettingsFromConfig({ ollama: { max_context: 8192 }, agent: context }).context).toEqual({
      contextLength: 8192,
      maxPromptTokens: 5000,
      keepRecentMessages: 12,
    });
    expect(agentSettingsFromConfig({ ollama: { max_context: 8192 }, agent: section({ context: false }) }).context).toBe(
      false,
    );
  });
});

describe('agentSettingsFromConfig on a loaded config file', () => {
  const load = (yaml: string) => parseConfig(yaml, 'configs/system.yaml', { agent: agentConfigSection });
  const seedConvergence = 'max_iterations: 1000\nconvergence_warnings:\n  - 50\n  - 100\n  - 200\n  - 500\n';

  it("honours the seed's top-level max_iterations and convergence_warnings", () => {
    const settings = agentSettingsFromConfig(load(`${seedConvergence}ollama:\n  max_context: 32768\n`));
    expect(settings).toMatchObject({
      maxIterations: 1000,
      convergenceWarnings: [50, 100, 200, 500],
      context: { contextLength: 32768 },
    });
    expect(agentSettingsFromConfig(load('max_iterations: 250\n')).maxIterations).toBe(250);
  });

  it('accepts both places when they agree, and either alone', () => {
    const both = load(`cloud_llm:\n  max_iterations: 1000\n${seedConvergence}`);
    expect(agentSettingsFromConfig(both).maxIterations).toBe(1000);
    expect(load('max_iterations: 70\n').cloud_llm.max_iterations).toBe(70);
    expect(agentSettingsFromConfig(load('cloud_llm:\n  max_iterations: 60\n')).maxIterations).toBe(60);
    expect(agentSettingsFromConfig(load('')).maxIterations).toBe(1000);
  });

  it('refuses a top-level max_iterations that differs from cloud_llm.max_iterations, naming both and the line', () => {
    let error: unknown;
    try {
      load('cloud_llm:\n  provider: minimax\n  max_iterations: 1000\n\nmax_iterations: 500\n');
    } catch (e) {
      error = e;
    }
    expect(ConfigError.isInstance(error)).toBe(true);
    const { message, fix } = error as ConfigError;
    expect(message).toContain(
      "configs/system.yaml:5: max_iterations: 500 differs from cloud_llm.max_iterations: 1000; both set the agent loop's iteration limit",
    );
    expect(fix).toBe('keep one of max_iterations and cloud_llm.max_iterations, or give them the same value');
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
    expect(issues({ budget: { max_cost_usd: 1 } })).toEqual([
      'budget.prices: max_cost_usd needs prices per 1k tokens for at least one model',
    ]);
  });

  it('refuses the budget keys of earlier releases, naming the new ones', () => {
    expect(issues({ budget: { max_tokens: 1000, max_cost: 1, prices: { '*': {} } } })).toEqual([
      "budget.max_tokens: renamed max_total_tokens (a run's budget; max_tokens is the cap on each reply, under cloud_llm)",
      "budget.max_cost: renamed max_cost_usd (a run's budget; max_tokens is the cap on each reply, under cloud_llm)",
    ]);
  });
});
