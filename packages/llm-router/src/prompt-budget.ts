import type { ChatMessage, ToolDefinition } from '@unity/core';

/**
 * A deliberately cautious token estimate: one token per 3 characters (real tokenizers average 3–4 on English and
 * code) plus a few tokens of framing per message. It over-counts rather than under-counts, so a prompt that passes
 * the check is not truncated by the model server.
 */
export function estimateTokens(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] = []): number {
  let chars = 0;
  for (const message of messages) {
    chars += message.content.length + 12;
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) chars += call.name.length + call.rawArguments.length + 12;
      chars += message.reasoning?.length ?? 0;
    }
  }
  if (tools.length > 0) chars += JSON.stringify(tools).length;
  return Math.ceil(chars / 3);
}

/** Tokens left for the prompt: the context minus room for the answer (at most half the context). */
export function promptBudget(contextLength: number, maxOutputTokens: number | undefined): number {
  return contextLength - Math.min(maxOutputTokens ?? 0, Math.floor(contextLength / 2));
}

interface Compaction {
  messages: ChatMessage[];
  droppedMessages: number;
  estimatedTokens: number;
}

/**
 * Drop the oldest turns until the prompt fits `budget` tokens: leading system messages and the last user message
 * (with everything after it) are always kept, and an assistant tool-call message goes together with its tool results.
 * Undefined when even that minimum does not fit.
 */
export function compactToFit(
  messages: readonly ChatMessage[],
  tools: readonly ToolDefinition[],
  budget: number,
): Compaction | undefined {
  let head = 0;
  while (head < messages.length && messages[head]?.role === 'system') head++;
  let lastUser = -1;
  for (let i = messages.length - 1; i >= head; i--) {
    if (messages[i]?.role === 'user') {
      lastUser = i;
      break;
    }
  }
  const system = messages.slice(0, head);
  const tail = lastUser >= 0 ? messages.slice(lastUser) : messages.slice(head);
  const middle = lastUser >= 0 ? messages.slice(head, lastUser) : [];
  let start = 0;
  for (;;) {
    const candidate = [...system, ...middle.slice(start), ...tail];
    const estimatedTokens = estimateTokens(candidate, tools);
    if (estimatedTokens <= budget) {
      return { messages: candidate, droppedMessages: messages.length - candidate.length, estimatedTokens };
    }
    if (start >= middle.length) return undefined;
    start++;
    // Never start on a tool result whose call was dropped.
    while (start < middle.length && middle[start]?.role === 'tool') start++;
  }
}
