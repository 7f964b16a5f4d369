import { describe, expect, it } from 'vitest';
import { convergenceSchedule } from './convergence-warnings';
import { finalAnswerRequest, nudgeMessage, reminderMessage } from './reminders';

const activity = '22 of the last 30 calls were read_file on 3 files; no writes';

describe('reminderMessage', () => {
  it('states the calls made, the iterations left and the recent activity, then advice of the level', () => {
    const [first, , , last] = convergenceSchedule();
    const gentle = reminderMessage({ threshold: first!, toolCalls: 50, iterations: 40, maxIterations: 1000, activity });
    expect(gentle).toContain('You have made 50 tool calls in 40 of at most 1000 iterations.');
    expect(gentle).toContain(`Recent activity: ${activity}.`);
    expect(gentle).toContain('Consider wrapping up');
    const firm = reminderMessage({ threshold: last!, toolCalls: 500, iterations: 450, maxIterations: 1000, activity });
    expect(firm).toContain('CRITICAL: give the final answer now');
  });
});

describe('finalAnswerRequest', () => {
  it('says the limit is reached and tools are gone', () => {
    const text = finalAnswerRequest({ toolCalls: 12, iterations: 12, maxIterations: 12, activity });
    expect(text).toContain('You have used all 12 iterations (12 tool calls');
    expect(text).toContain('Tools are no longer available');
  });
});

describe('nudgeMessage', () => {
  it('names the repetition and what to do instead', () => {
    const text = nudgeMessage({
      kind: 'repeated-failure',
      key: 'k',
      description: 'execute_command {"command":"make"} failed 3 times',
      count: 3,
      tools: ['execute_command'],
    });
    expect(text).toContain('execute_command {"command":"make"} failed 3 times.');
    expect(text).toContain('change the arguments or use another tool');
  });
});
