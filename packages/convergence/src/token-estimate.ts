import type { ChatMessage, ToolDefinition } from '@unity/core';

/** Characters of framing counted for each message and each tool call (role markers, ids, separators). */
const framing = 12;

/** The characters a message counts for in `estimateTokens`: content, tool calls, reasoning and framing. */
export function messageChars(message: ChatMessage): number {
  let chars = message.content.length + framing;
  if (message.role === 'assistant') {
    for (const call of message.toolCalls ?? []) chars += call.name.length + call.rawArguments.length + framing;
    chars += message.reasoning?.length ?? 0;
  }
  return chars;
}

/** The characters the tool definitions count for: their JSON, as sent. */
export function toolChars(tools: readonly ToolDefinition[]): number {
  return tools.length > 0 ? JSON.stringify(tools).length : 0;
}

/** Characters to tokens: one token per 3 characters, rounded up. */
export const charsToTokens = (chars: number): number => Math.ceil(chars / 3);

/**
 * A deliberately cautious estimate of a prompt's tokens, with no tokenizer: one token per 3 characters (real
 * tokenizers average 3–4 on English and code) of the messages' content, tool calls and reasoning, plus 12 characters
 * of framing per message and per call, plus the tool definitions' JSON. It is the formula of the router's context check
 * (`@unity/llm-router`), so a conversation kept under a budget here is not refused there for the same budget.
 */
export function estimateTokens(messages: readonly ChatMessage[], tools: readonly ToolDefinition[] = []): number {
  let chars = toolChars(tools);
  for (const message of messages) chars += messageChars(message);
  return charsToTokens(chars);
}
