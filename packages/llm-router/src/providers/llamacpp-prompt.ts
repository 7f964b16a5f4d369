import type { ChatMessage, ToolCall, ToolDefinition } from '@unity/core';

/**
 * How a conversation becomes the model's input.
 * - `plain`: for models without a chat template (base and story models). A lone user message (after an optional system
 *   prompt) is the text to continue, as is; a longer conversation becomes a `User:` / `Assistant:` transcript that
 *   ends with `Assistant:`, and generation stops at the next `\nUser:`.
 * - `template`: the chat template from the GGUF, through node-llama-cpp's chat wrappers.
 * - `auto` (default): `template` when the GGUF has `tokenizer.chat_template`, else `plain`.
 */
export type PromptFormat = 'auto' | 'template' | 'plain';

/** One plain-text rendering of the conversation. */
interface PlainPrompt {
  text: string;
  stop: string[];
  /** True for a transcript ending in `Assistant:`: the reply's leading whitespace is dropped. */
  transcript: boolean;
}

/** A history item in node-llama-cpp's chat-wrapper shape (kept structural so the library stays a lazy import). */
type WrapperHistoryItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: string[] };

/** The JSON shape a constrained tool reply takes: a call of one offered tool, or a plain answer. */
export type ToolReply = { name: string; arguments: Record<string, unknown> } | { answer: string };

const callText = (call: ToolCall) => JSON.stringify({ name: call.name, arguments: call.arguments });

/**
 * Whether a reply with tools offered may be a plain answer (`auto`, like OpenAI's default) or must call one of them
 * (`required`).
 */
export type ToolChoice = 'auto' | 'required';

/** The short system text that tells a model how to use the offered tools (short: small models lose long prompts). */
function toolInstructions(tools: readonly ToolDefinition[], choice: ToolChoice = 'auto'): string {
  const list = tools.map((t) => `- ${t.name}: ${t.description} Arguments: ${JSON.stringify(t.parameters)}`);
  const call = '{"name": <tool>, "arguments": {...}}';
  return [
    'Tools:',
    ...list,
    choice === 'required'
      ? `Reply with JSON only: ${call} to call a tool.`
      : `Reply with JSON only: {"answer": <text>} to answer, or ${call} to call a tool.`,
  ].join('\n');
}

/** Tools offered to one request, and whether it must call one. */
export interface OfferedTools {
  tools: readonly ToolDefinition[];
  choice: ToolChoice;
}

function systemText(messages: readonly ChatMessage[], offered: OfferedTools | undefined): string {
  const parts = messages.filter((m) => m.role === 'system').map((m) => m.content);
  if (offered) parts.push(toolInstructions(offered.tools, offered.choice));
  return parts.join('\n\n');
}

/** See `PromptFormat`: `plain`. */
export function buildPlainPrompt(messages: readonly ChatMessage[], offered?: OfferedTools): PlainPrompt {
  const system = systemText(messages, offered);
  const turns = messages.filter((m) => m.role !== 'system');
  const prefix = system ? `${system}\n\n` : '';
  const [only] = turns;
  if (turns.length === 1 && only?.role === 'user') {
    return { text: `${prefix}${only.content}`, stop: [], transcript: false };
  }
  const lines = turns.map((m) => {
    switch (m.role) {
      case 'user':
        return `User: ${m.content}`;
      case 'assistant':
        return `Assistant: ${[m.content, ...(m.toolCalls ?? []).map(callText)].filter(Boolean).join('\n')}`;
      case 'tool':
        return `Tool result${m.toolName ? ` (${m.toolName})` : ''}: ${m.content}`;
      default:
        return '';
    }
  });
  return { text: `${prefix}${lines.join('\n')}\nAssistant:`, stop: ['\nUser:'], transcript: true };
}

/** See `PromptFormat`: `template`. The history ends with an empty model turn, which the reply fills. */
export function buildWrapperHistory(messages: readonly ChatMessage[], offered?: OfferedTools): WrapperHistoryItem[] {
  const history: WrapperHistoryItem[] = [];
  const system = systemText(messages, offered);
  if (system) history.push({ type: 'system', text: system });
  for (const m of messages) {
    if (m.role === 'user') history.push({ type: 'user', text: m.content });
    else if (m.role === 'tool') {
      history.push({ type: 'user', text: `Tool result${m.toolName ? ` (${m.toolName})` : ''}: ${m.content}` });
    } else if (m.role === 'assistant') {
      history.push({
        type: 'model',
        response: [[m.content, ...(m.toolCalls ?? []).map(callText)].filter(Boolean).join('\n')],
      });
    }
  }
  history.push({ type: 'model', response: [] });
  return history;
}

/**
 * The JSON schema a tool reply is constrained to: one branch per offered tool (its name as a constant and its own
 * parameter schema), and, unless a call is required, `{"answer": string}` for a reply that calls nothing.
 */
export function toolReplySchema({ tools, choice }: OfferedTools): Record<string, unknown> {
  const calls = tools.map((tool) => ({
    type: 'object',
    properties: { name: { const: tool.name }, arguments: tool.parameters },
  }));
  const answer = { type: 'object', properties: { answer: { type: 'string' } } };
  return { oneOf: choice === 'required' ? calls : [...calls, answer] };
}
