/** Split text into stream chunks: words with their following whitespace, or fixed-size pieces. */
export function chunkText(text: string, chunkSize?: number): string[] {
  if (text === '') return [];
  if (chunkSize && chunkSize > 0) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += chunkSize) pieces.push(text.slice(i, i + chunkSize));
    return pieces;
  }
  return text.match(/\s*\S+\s*/g) ?? [text];
}

/** A rough token count (words), enough for usage figures that tests can predict. */
export function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The content of the last user message in an OpenAI- or Ollama-shaped message list. */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role === 'user') return typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
  }
  return '';
}

/** Total prompt tokens over a message list. */
export function promptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  return messages.reduce<number>((sum, m) => {
    const content = (m as { content?: unknown })?.content;
    return sum + countTokens(typeof content === 'string' ? content : JSON.stringify(content ?? ''));
  }, 0);
}

export type TextToolCallStyle = 'bare' | 'tagged' | 'fenced';

/**
 * A tool call written as text, the way qwen2.5-coder often answers through Ollama: bare JSON, inside
 * `<tool_call>…</tool_call>`, or inside a ``` fence.
 */
export function textToolCall(name: string, args: Record<string, unknown>, style: TextToolCallStyle = 'bare'): string {
  const json = JSON.stringify({ name, arguments: args });
  if (style === 'tagged') return `<tool_call>\n${json}\n</tool_call>`;
  if (style === 'fenced') return `\`\`\`json\n${json}\n\`\`\``;
  return json;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
