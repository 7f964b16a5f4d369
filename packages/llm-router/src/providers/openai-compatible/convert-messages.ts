import type { AssistantMessage, ChatMessage } from '@unity/core';

/** A message as Chat Completions takes it. */
type WireMessage = Record<string, unknown>;

/** Unity's messages → OpenAI's wire messages. MiniMax gets the assistant's reasoning back, as it requires. */
export function toWireMessages(messages: readonly ChatMessage[], minimax: boolean): WireMessage[] {
  const wire = new Array<WireMessage>(messages.length);
  for (let i = 0; i < messages.length; i++) wire[i] = toWireMessage(messages[i]!, minimax);
  return wire;
}

function toWireMessage(message: ChatMessage, minimax: boolean): WireMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      if (!message.images?.length) return { role: 'user', content: message.content };
      return {
        role: 'user',
        content: [
          { type: 'text', text: message.content },
          ...message.images.map((image) => ({ type: 'image_url', image_url: { url: imageUrl(image) } })),
        ],
      };
    case 'assistant':
      return toWireAssistant(message, minimax);
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toWireAssistant(message: AssistantMessage, minimax: boolean): WireMessage {
  const toolCalls = message.toolCalls ?? [];
  const wire: WireMessage = {
    role: 'assistant',
    content: toolCalls.length > 0 && message.content === '' ? null : message.content,
  };
  if (toolCalls.length > 0) {
    wire.tool_calls = toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.rawArguments || JSON.stringify(call.arguments) },
    }));
  }
  if (minimax && message.reasoning) {
    wire.reasoning_details = [
      {
        type: 'reasoning.text',
        id: 'reasoning-text-1',
        format: 'MiniMax-response-v1',
        index: 0,
        text: message.reasoning,
      },
    ];
  }
  return wire;
}

/** An image as a URL: kept when it is one (http(s) or data:), else base64 data made a data: URL (JPEG or PNG). */
function imageUrl(image: string): string {
  if (image.startsWith('data:') || /^https?:\/\//.test(image)) return image;
  return `data:${image.startsWith('/9j/') ? 'image/jpeg' : 'image/png'};base64,${image}`;
}
