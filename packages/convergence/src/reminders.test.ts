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

describe('reminder texts, whole', () => {
  const facts = { toolCalls: 100, iterations: 80, maxIterations: 200, activity: 'reads' };

  it('gives each level its own advice after the facts', () => {
    const [wrap, converge, synthesise, critical] = convergenceSchedule();
    const prefix = (level: string) =>
      `[Convergence reminder: ${level}] You have made 100 tool calls in 80 of at most 200 iterations. Recent activity: reads. `;
    expect(reminderMessage({ threshold: wrap!, ...facts })).toBe(
      `${prefix('consider wrapping up')}Consider wrapping up: if you already have what you need, give your answer now.`,
    );
    expect(reminderMessage({ threshold: converge!, ...facts })).toBe(
      `${prefix('time to converge')}It is time to converge: stop exploring and make only the calls your answer depends on.`,
    );
    expect(reminderMessage({ threshold: synthesise!, ...facts })).toBe(
      `${prefix('please synthesise your findings')}Please synthesise your findings into an answer now; make another call only if the answer cannot be given without it.`,
    );
    expect(reminderMessage({ threshold: critical!, ...facts })).toBe(
      `${prefix('CRITICAL: give the final answer now')}CRITICAL: give the final answer now, without further tool calls.`,
    );
  });

  it('asks for the final answer at the limit, with the facts', () => {
    expect(finalAnswerRequest(facts)).toBe(
      '[Iteration limit reached] You have used all 200 iterations (100 tool calls; recent activity: reads). Tools are ' +
        'no longer available. Give your final answer now from what you have found, and say plainly what remains ' +
        'unverified or unfinished.',
    );
  });

  it('nudges each kind of repetition with its own advice', () => {
    const pattern = (kind: 'repeated-call' | 'repeated-failure' | 'alternation' | 'empty-replies') =>
      nudgeMessage({ kind, key: 'k', description: 'D', count: 2, tools: [] });
    expect(pattern('repeated-call')).toBe(
      '[Repetition noticed] D. Calling it again will return the same result. Use what it returned, try a different approach, or give your answer.',
    );
    expect(pattern('repeated-failure')).toBe(
      '[Repetition noticed] D. Read the error, then change the arguments or use another tool; do not repeat the same call.',
    );
    expect(pattern('alternation')).toBe(
      '[Repetition noticed] D. Neither call is producing anything new. Decide from what you have, try a different approach, or give your answer.',
    );
    expect(pattern('empty-replies')).toBe(
      '[Repetition noticed] D. Reply with your answer, or call a tool if you still need one.',
    );
  });
});
