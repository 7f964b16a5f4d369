import type { ChatMessage } from '@unity/core';
import type { Message as OllamaMessage } from 'ollama';

/** Unity's messages → Ollama's: tool arguments as objects, tool results named by their tool. */
export function toOllamaMessages(messages: readonly ChatMessage[]): OllamaMessage[] {
  // Tool results name their tool; Unity's carry the call id, so the names come from the assistant turns before them.
  const toolNames = new Map<string, string>();
  return messages.map((message) => toOllamaMessage(message, toolNames));
}

function toOllamaMessage(message: ChatMessage, toolNames: Map<string, string>): OllamaMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content: message.content,
        ...(message.images?.length ? { images: message.images } : {}),
      };
    case 'assistant':
      for (const call of message.toolCalls ?? []) toolNames.set(call.id, call.name);
      return {
        role: 'assistant',
        content: message.content,
        ...(message.reasoning ? { thinking: message.reasoning } : {}),
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    case 'tool': {
      const name = message.toolName ?? toolNames.get(message.toolCallId);
      return { role: 'tool', content: message.content, ...(name ? { tool_name: name } : {}) };
    }
  }
}
