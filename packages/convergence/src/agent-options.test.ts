import { describe, expect, it } from 'vitest';
import { type AgentOptions, validateAgentOptions } from './agent-options';
import { ConvergenceError } from './errors';

const valid: AgentOptions = {
  model: {
    chat: async () => ({
      content: '',
      toolCalls: [],
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      finishReason: 'stop',
      model: 'm',
    }),
  },
  tools: { definitions: () => [], execute: async () => [] },
  task: 'do it',
};

function problem(options: Partial<AgentOptions>): ConvergenceError {
  try {
    validateAgentOptions({ ...valid, ...options } as AgentOptions);
  } catch (error) {
    if (ConvergenceError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConvergenceError');
}

describe('validateAgentOptions', () => {
  it('accepts a model, tools and a task', () => {
    expect(() => validateAgentOptions(valid)).not.toThrow();
  });

  it('names a limit that is not a positive integer, with what came', () => {
    const error = problem({ maxIterations: 0 });
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toContain('agent option maxIterations: expected a positive integer, got 0');
  });

  it('names the position of a bad convergence warning', () => {
    expect(problem({ convergenceWarnings: [50, -1] }).message).toContain('convergenceWarnings[1]');
  });

  it('names a bad stuck threshold', () => {
    expect(problem({ stuck: { repeatedCall: 1.5 } }).message).toContain('stuck.repeatedCall');
  });

  it('names a bad context setting, and accepts context: false', () => {
    expect(problem({ context: { maxPromptTokens: -5 } }).message).toContain(
      'agent option context.maxPromptTokens: expected a positive integer, got -5',
    );
    expect(problem({ context: 'off' as never }).message).toContain('agent option context: expected an object');
    expect(() => validateAgentOptions({ ...valid, context: false })).not.toThrow();
  });

  it('refuses an empty task', () => {
    expect(problem({ task: '  ' }).message).toContain('agent option task: expected a non-empty string');
  });

  it('refuses a cost budget without prices, and a negative price', () => {
    expect(problem({ budget: { maxCostUsd: 1 } }).message).toContain('budget.prices');
    expect(problem({ budget: { maxCostUsd: 1, prices: { m: { inputPer1k: -1, outputPer1k: 0 } } } }).message).toContain(
      'budget.prices.m.inputPer1k: expected a number ≥ 0, got -1',
    );
  });

  it('refuses a budget key that is not a limit (an earlier name is never silently ignored)', () => {
    expect(problem({ budget: { maxTokens: 400 } as never }).message).toContain('agent option budget.maxTokens');
  });

  it('refuses a tool executor without execute()', () => {
    expect(problem({ tools: { definitions: () => [] } as never }).message).toContain('agent option tools');
  });
});
