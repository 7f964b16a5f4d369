import type { ChatMessage, ToolCall } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { type Compaction, ContextCompactor, promptTokenBudget, toolResultStub } from './context-compaction';
import { estimateTokens } from './token-estimate';

const system: ChatMessage = { role: 'system', content: 'You are careful.' };
const task: ChatMessage = { role: 'user', content: 'Read the files and report.' };

const toolCall = (id: string, name = 'read_file'): ToolCall => ({
  id,
  name,
  arguments: { path: `${id}.txt` },
  rawArguments: JSON.stringify({ path: `${id}.txt` }),
});

/** `turns` turns of one assistant message with `calls` calls, each answered by a result of `size` characters. */
function conversation(turns: number, options: { calls?: number; size?: number; text?: (turn: number) => string } = {}) {
  const messages: ChatMessage[] = [system, task];
  for (let t = 1; t <= turns; t++) {
    const calls = Array.from({ length: options.calls ?? 1 }, (_, c) =>
      toolCall(`t${t}c${c}`, c % 2 ? 'list_files' : 'read_file'),
    );
    messages.push({ role: 'assistant', content: options.text?.(t) ?? '', toolCalls: calls });
    for (const call of calls) {
      messages.push({
        role: 'tool',
        content: `${call.id}:${'x'.repeat(options.size ?? 3000)}`,
        toolCallId: call.id,
        toolName: call.name,
      });
    }
  }
  return messages;
}

/** Every tool result answers a call made by an earlier assistant message that was kept. */
function orphans(messages: readonly ChatMessage[]): string[] {
  const called = new Set<string>();
  const found: string[] = [];
  for (const m of messages) {
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) called.add(c.id);
    if (m.role === 'tool' && !called.has(m.toolCallId)) found.push(m.toolCallId);
  }
  return found;
}

const compactor = (maxPromptTokens: number, keepRecentMessages = 4) =>
  new ContextCompactor({ maxPromptTokens, keepRecentMessages });

describe('ContextCompactor', () => {
  it('leaves a conversation within the budget as it is', () => {
    const messages = conversation(3);
    expect(compactor(estimateTokens(messages)).compact(messages, { task })).toBeUndefined();
  });

  it('first replaces the oldest tool results by stubs naming the tool, the size elided and that it can be repeated', () => {
    const messages = conversation(10);
    const budget = estimateTokens(messages) - 100;
    const result = compactor(budget).compact(messages, { task }) as Compaction;
    expect(result.dropped).toBe(0);
    expect(result.stubbed).toBeGreaterThan(0);
    const first = result.messages[3] as Extract<ChatMessage, { role: 'tool' }>;
    expect(first.content).toBe(
      '[read_file result elided to save context: 3005 characters. Call read_file again if you need it.]',
    );
    expect(first.content).toBe(toolResultStub('read_file', 3005));
    expect(first.toolCallId).toBe('t1c0');
    expect(result.messages).toHaveLength(messages.length);
    expect(result.tokensBefore).toBe(estimateTokens(messages));
    expect(result.tokensAfter).toBe(estimateTokens(result.messages));
    expect(result.tokensAfter).toBeLessThanOrEqual(budget * 0.6);
    // Only as many as needed, oldest first: the newest old result is still whole.
    const stubbedAt = result.messages.flatMap((m, i) => (m.role === 'tool' && m.content.startsWith('[') ? [i] : []));
    expect(stubbedAt).toEqual(stubbedAt.map((_, k) => 3 + 2 * k));
    expect(stubbedAt.length).toBe(result.stubbed);
    expect(result.stubbed).toBeLessThan(8);
  });

  it('names the tool from its call when the result does not carry the name', () => {
    const messages = conversation(6).map((m) => (m.role === 'tool' ? { ...m, toolName: undefined } : m));
    const result = compactor(estimateTokens(messages) - 10).compact(messages, { task }) as Compaction;
    expect(result.messages[3]?.content).toMatch(/^\[read_file result elided/);
  });

  it('keeps the system prompt, the task and the recent messages intact, whatever it has to drop', () => {
    const messages = conversation(40);
    const result = compactor(3000, 6).compact(messages, { task }) as Compaction;
    expect(result.messages[0]).toBe(system);
    expect(result.messages[1]).toBe(task);
    expect(result.messages.slice(-6)).toEqual(messages.slice(-6));
    for (const [i, m] of result.messages.slice(-6).entries()) expect(m).toBe(messages[messages.length - 6 + i]);
  });

  it('drops old turns into one note when stubs are not enough, saying what they were', () => {
    const messages = conversation(40, { size: 1000, text: (t) => (t === 3 ? 'The first files are logs.' : '') });
    const result = compactor(3000, 6).compact(messages, { task }) as Compaction;
    expect(result.dropped).toBeGreaterThan(0);
    expect(estimateTokens(result.messages)).toBe(result.tokensAfter);
    expect(result.tokensAfter).toBeLessThanOrEqual(3000 * 0.6);
    const notes = result.messages.filter((m) => m.content.startsWith('[Context compacted'));
    expect(notes).toHaveLength(1);
    expect(result.messages[2]).toBe(notes[0]);
    expect(notes[0]).toMatchObject({ role: 'assistant' });
    expect(notes[0]?.content).toContain(`${result.dropped} earlier messages were removed`);
    expect(notes[0]?.content).toContain(`${result.dropped / 2} tool calls (read_file ×${result.dropped / 2})`);
    expect(notes[0]?.content).toContain('"The first files are logs."');
    expect(notes[0]?.content).toContain('Calls can be repeated');
  });

  it('never splits a call from its results, for any number of recent messages kept', () => {
    for (let keep = 1; keep <= 9; keep++) {
      const messages = conversation(30, { calls: 3, size: 2000 });
      const result = compactor(4000, keep).compact(messages, { task }) as Compaction;
      expect(result.dropped).toBeGreaterThan(0);
      expect(orphans(result.messages)).toEqual([]);
      // A call kept has all its results, in order, right after it.
      result.messages.forEach((m, i) => {
        if (m.role !== 'assistant' || !m.toolCalls) return;
        const ids = result.messages
          .slice(i + 1, i + 1 + m.toolCalls.length)
          .map((r) => (r.role === 'tool' ? r.toolCallId : r.role));
        expect(ids).toEqual(m.toolCalls.map((c) => c.id));
      });
      // The recent messages are kept from the call on, even when `keep` ends inside a turn.
      expect(result.messages.slice(-keep)).toEqual(messages.slice(-keep));
      expect(result.messages.at(-4)?.role).toBe('assistant');
    }
  });

  it('restates everything dropped so far in a single note when it compacts again', () => {
    const c = compactor(3000, 4);
    let messages = conversation(20);
    const first = c.compact(messages, { task }) as Compaction;
    messages = [
      ...first.messages,
      ...conversation(20)
        .slice(2)
        .map((m) => relabel(m, 'b')),
    ];
    const second = c.compact(messages, { task }) as Compaction;
    const notes = second.messages.filter((m) => m.content.startsWith('[Context compacted'));
    expect(notes).toHaveLength(1);
    const total = first.dropped + second.dropped;
    expect(notes[0]?.content).toContain(`${total} earlier messages were removed`);
    expect(notes[0]?.content).toContain(`${total / 2} tool calls`);
    expect(orphans(second.messages)).toEqual([]);
  });

  it('may compact history placed before the task, but never the task itself', () => {
    const history = conversation(20).slice(1);
    const messages: ChatMessage[] = [
      system,
      ...history.filter((m) => m !== task),
      task,
      ...conversation(2)
        .slice(2)
        .map((m) => relabel(m, 'n')),
    ];
    const result = compactor(2500, 4).compact(messages, { task }) as Compaction;
    expect(result.messages).toContain(task);
    expect(result.messages[0]).toBe(system);
    expect(result.dropped).toBeGreaterThan(0);
    expect(orphans(result.messages)).toEqual([]);
  });

  it('counts the tool definitions in the estimate, as the router does', () => {
    const messages = conversation(2);
    const tools = [{ name: 'read_file', description: 'd'.repeat(3000), parameters: { type: 'object' } }];
    expect(compactor(estimateTokens(messages)).compact(messages, { task, tools })).toBeDefined();
  });
});

function relabel(message: ChatMessage, prefix: string): ChatMessage {
  if (message.role === 'assistant') {
    return { ...message, toolCalls: message.toolCalls?.map((c) => ({ ...c, id: `${prefix}${c.id}` })) };
  }
  if (message.role === 'tool') return { ...message, toolCallId: `${prefix}${message.toolCallId}` };
  return message;
}

describe('promptTokenBudget', () => {
  it("is three quarters of the model's context, less the reply's room, unless given", () => {
    expect(promptTokenBudget()).toBe(24_576);
    expect(promptTokenBudget({ contextLength: 8192 })).toBe(6144);
    expect(promptTokenBudget({ contextLength: 32_768 }, 4096)).toBe(21_504);
    expect(promptTokenBudget({ contextLength: 32_768, maxPromptTokens: 1000 }, 4096)).toBe(1000);
  });
});

describe('estimateTokens', () => {
  it('counts a token per 3 characters of content, calls and reasoning, with 12 of framing per message and call', () => {
    const call = toolCall('a');
    expect(estimateTokens([{ role: 'user', content: 'x'.repeat(288) }])).toBe(100);
    expect(estimateTokens([{ role: 'assistant', content: '', reasoning: 'r'.repeat(30), toolCalls: [call] }])).toBe(
      Math.ceil((12 + 30 + call.name.length + call.rawArguments.length + 12) / 3),
    );
  });
});
