import type { AssistantMessage, ChatMessage, ToolDefinition } from '@unity/core';
import { charsToTokens, messageChars, toolChars } from './token-estimate';

/** How the loop keeps its conversation within the model's context (`runAgent`'s `context` option). */
export interface ContextOptions {
  /** The model's context in tokens, when no explicit budget is given (default 32768, the seed's `ollama.max_context`). */
  contextLength?: number;
  /**
   * Estimated prompt tokens (see `estimateTokens`) above which old context is compacted before a model call (default:
   * three quarters of `contextLength`, less the room kept for the reply when the request sets `maxOutputTokens`).
   */
  maxPromptTokens?: number;
  /** The most recent messages, always sent intact (default 8; a tool result is never kept without its call). */
  keepRecentMessages?: number;
}

const defaultContextLength = 32_768;
export const defaultKeepRecentMessages = 8;
/** Compaction goes down to this share of the budget, so that it happens now and then rather than on every call. */
const compactTo = 0.6;

/** The prompt budget `options` give: `maxPromptTokens`, else 3/4 of the context left after the reply's room. */
export function promptTokenBudget(options: ContextOptions = {}, replyTokens?: number): number {
  if (options.maxPromptTokens !== undefined) return options.maxPromptTokens;
  const contextLength = options.contextLength ?? defaultContextLength;
  const reply = Math.min(replyTokens ?? 0, Math.floor(contextLength / 2));
  return Math.floor((contextLength - reply) * 0.75);
}

export interface Compaction {
  /** The conversation to send from now on. */
  messages: ChatMessage[];
  /** Estimated prompt tokens before and after, tool definitions included. */
  tokensBefore: number;
  tokensAfter: number;
  /** Tool results replaced by a stub (and kept). */
  stubbed: number;
  /** Messages dropped into the compaction note. */
  dropped: number;
}

/** What compaction has dropped so far, restated in one note each time. */
interface Elided {
  messages: number;
  calls: Map<string, number>;
  userMessages: number;
  /** The model's own words from dropped turns, newest last. */
  remarks: string[];
}

const clip = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The stub that replaces an old tool result: which tool, how much was elided, and that the call can be repeated. */
export function toolResultStub(toolName: string, chars: number): string {
  return `[${toolName} result elided to save context: ${chars} characters. Call ${toolName} again if you need it.]`;
}

function noteText(elided: Elided): string {
  const calls = [...elided.calls].map(([name, n]) => `${name} ×${n}`).join(', ');
  const total = [...elided.calls.values()].reduce((a, b) => a + b, 0);
  const parts = [`${total} tool call${total === 1 ? '' : 's'}${calls ? ` (${calls})` : ''}`];
  if (elided.userMessages > 0) parts.push(`${elided.userMessages} user message${elided.userMessages === 1 ? '' : 's'}`);
  const remarks = elided.remarks.map((r) => `"${r}"`).join('; ');
  return (
    `[Context compacted: ${elided.messages} earlier messages were removed to fit the model's context: ${parts.join(', ')}.` +
    `${remarks ? ` My notes from then: ${remarks}.` : ''} Calls can be repeated if their results are needed again.]`
  );
}

/**
 * Keeps a growing agent conversation under a token budget. When the estimate passes the budget, it compacts down to
 * about 60% of it: first old tool results become stubs (oldest first), then, if that is not enough, whole old turns
 * (an assistant message with its tool results, or any other message) are dropped into one note, placed where they
 * were. Leading system messages, the task and the last `keepRecentMessages` messages are never changed, and a tool
 * result never loses its call. It remembers what it dropped, so each note restates all of it.
 */
export class ContextCompactor {
  private readonly elided: Elided = { messages: 0, calls: new Map(), userMessages: 0, remarks: [] };
  private note: ChatMessage | undefined;

  constructor(private readonly options: { maxPromptTokens: number; keepRecentMessages: number }) {}

  /** The budget: above this estimate, the conversation is compacted. */
  get maxPromptTokens(): number {
    return this.options.maxPromptTokens;
  }

  /** The compacted conversation, or undefined when it is within budget as it is. `task` is never touched. */
  compact(
    messages: readonly ChatMessage[],
    options: { tools?: readonly ToolDefinition[]; task?: ChatMessage } = {},
  ): Compaction | undefined {
    const fixed = toolChars(options.tools ?? []);
    const sizes = messages.map(messageChars);
    let chars = sizes.reduce((a, b) => a + b, fixed);
    const tokensBefore = charsToTokens(chars);
    if (tokensBefore <= this.options.maxPromptTokens) return undefined;
    const target = Math.floor(this.options.maxPromptTokens * compactTo);
    const open = this.compactable(messages, options.task);

    const out = [...messages];
    const stubbed = new Set<number>();
    for (const i of open) {
      if (charsToTokens(chars) <= target) break;
      const message = out[i] as ChatMessage;
      if (message.role !== 'tool') continue;
      const stub = toolResultStub(message.toolName ?? toolNameOf(messages, message.toolCallId), message.content.length);
      if (stub.length >= message.content.length) continue;
      out[i] = { ...message, content: stub };
      chars += stub.length - message.content.length;
      sizes[i] = (sizes[i] ?? 0) + stub.length - message.content.length;
      stubbed.add(i);
    }

    let dropped = 0;
    const drop = new Set<number>();
    if (charsToTokens(chars) > target) {
      const noteIndex = this.note ? out.indexOf(this.note) : -1;
      if (noteIndex >= 0) {
        drop.add(noteIndex);
        chars -= sizes[noteIndex] ?? 0;
      }
      for (const group of turnGroups(out, open)) {
        if (charsToTokens(chars + noteText(this.elided).length + 12) <= target) break;
        if (group.every((i) => i === noteIndex)) continue;
        for (const i of group) {
          if (i === noteIndex) continue;
          drop.add(i);
          stubbed.delete(i);
          chars -= sizes[i] ?? 0;
          this.remember(out[i] as ChatMessage);
          dropped++;
        }
      }
    }
    if (drop.size === 0) {
      return { messages: out, tokensBefore, tokensAfter: charsToTokens(chars), stubbed: stubbed.size, dropped };
    }
    const note: AssistantMessage = { role: 'assistant', content: noteText(this.elided) };
    this.note = note;
    const first = Math.min(...drop);
    const kept: ChatMessage[] = [];
    out.forEach((message, i) => {
      if (i === first) kept.push(note);
      if (!drop.has(i)) kept.push(message);
    });
    chars += messageChars(note);
    return { messages: kept, tokensBefore, tokensAfter: charsToTokens(chars), stubbed: stubbed.size, dropped };
  }

  /** Indices that may be stubbed or dropped, oldest first: not a leading system message, the task or the recent tail. */
  private compactable(messages: readonly ChatMessage[], task: ChatMessage | undefined): number[] {
    let head = 0;
    while (head < messages.length && messages[head]?.role === 'system') head++;
    let tail = Math.max(messages.length - this.options.keepRecentMessages, head);
    // The tail starts on a call, never on a result whose call would be left outside it.
    while (tail > head && messages[tail]?.role === 'tool') tail--;
    const open: number[] = [];
    for (let i = head; i < tail; i++) if (messages[i] !== task) open.push(i);
    return open;
  }

  private remember(message: ChatMessage): void {
    this.elided.messages++;
    if (message.role === 'user') this.elided.userMessages++;
    if (message.role !== 'assistant') return;
    for (const call of message.toolCalls ?? []) {
      this.elided.calls.set(call.name, (this.elided.calls.get(call.name) ?? 0) + 1);
    }
    if (message.content.trim() !== '')
      this.elided.remarks = [...this.elided.remarks, clip(message.content, 160)].slice(-3);
  }
}

function toolNameOf(messages: readonly ChatMessage[], toolCallId: string): string {
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    const call = message.toolCalls?.find((c) => c.id === toolCallId);
    if (call) return call.name;
  }
  return 'tool';
}

/**
 * The compactable indices grouped into turns that go together: an assistant message with the tool results that follow
 * it, or a single other message. A result whose call is not compactable (none here: the tail starts on calls) would
 * stand alone and may be dropped: an orphaned result is what a provider rejects, not a missing one.
 */
function turnGroups(messages: readonly ChatMessage[], open: readonly number[]): number[][] {
  const groups: number[][] = [];
  for (const i of open) {
    const message = messages[i] as ChatMessage;
    const last = groups.at(-1);
    if (message.role === 'tool' && last && messages[last[0] as number]?.role === 'assistant' && last.at(-1) === i - 1) {
      last.push(i);
    } else groups.push([i]);
  }
  return groups;
}
