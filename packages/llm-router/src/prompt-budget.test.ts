import type { ChatMessage } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { compactToFit, estimateTokens, promptBudget } from './prompt-budget';

const words = (n: number) => 'word '.repeat(n);

describe('estimateTokens', () => {
  it('counts at least one token per four characters, so it never under-counts ordinary text', () => {
    const text = words(400);
    expect(estimateTokens([{ role: 'user', content: text }])).toBeGreaterThan(text.length / 4);
  });

  it('counts offered tools', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }];
    const tool = { name: 'read_file', description: 'Read a file', parameters: { type: 'object' } };
    expect(estimateTokens(messages, [tool])).toBeGreaterThan(estimateTokens(messages));
  });
});

describe('promptBudget', () => {
  it('keeps room for the answer, at most half the context', () => {
    expect(promptBudget(4096, 1000)).toBe(3096);
    expect(promptBudget(4096, 100_000)).toBe(2048);
    expect(promptBudget(4096, undefined)).toBe(4096);
  });
});

describe('compactToFit', () => {
  const history: ChatMessage[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: words(300) },
    { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'read_file', arguments: {}, rawArguments: '{}' }] },
    { role: 'tool', content: words(300), toolCallId: 'c1' },
    { role: 'assistant', content: words(50) },
    { role: 'user', content: 'and now?' },
  ];

  it('returns the messages unchanged when they fit', () => {
    const result = compactToFit(history, [], 100_000);
    expect(result?.droppedMessages).toBe(0);
    expect(result?.messages).toEqual(history);
  });

  it('drops the oldest turns first, keeping the system prompt and the last question', () => {
    const result = compactToFit(history, [], 200);
    expect(result?.messages[0]).toEqual(history[0]);
    expect(result?.messages.at(-1)).toEqual(history.at(-1));
    expect(result?.droppedMessages).toBeGreaterThan(0);
    expect(result?.estimatedTokens).toBeLessThanOrEqual(200);
  });

  it('never keeps a tool result whose call was dropped', () => {
    const result = compactToFit(history, [], 200);
    expect(result?.messages.some((m) => m.role === 'tool')).toBe(false);
  });

  it('gives up when even the system prompt and the last question do not fit', () => {
    expect(compactToFit([{ role: 'user', content: words(1000) }], [], 100)).toBeUndefined();
  });
});
