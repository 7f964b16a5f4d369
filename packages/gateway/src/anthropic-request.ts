import type { ChatMessage, ChatRequest, ToolCall } from '@unity/core';
import { z } from 'zod';
import { GatewayError } from './errors';

// The body of Anthropic's POST /v1/messages (@anthropic-ai/sdk: MessageCreateParams), as far as the router can serve
// it. What it cannot honour is refused by name, never dropped.

const cacheControl = z.unknown().optional();
const textBlock = z.object({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });
const imageBlock = z.object({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
    z.object({ type: z.literal('url'), url: z.string() }),
  ]),
  cache_control: cacheControl,
});
const toolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
  cache_control: cacheControl,
});
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});
const thinkingBlock = z.object({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().optional() });
const redactedThinkingBlock = z.object({ type: z.literal('redacted_thinking'), data: z.string() });
const block = z.discriminatedUnion(
  'type',
  [textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock, redactedThinkingBlock],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'unsupported content block: send text, image, tool_use, tool_result or thinking blocks (documents and search results are not served here)'
        : undefined,
  },
);
/** A list of blocks (a string is one text block), so that a bad block is named by its own path. */
const content = z.preprocess(
  (value) => (typeof value === 'string' ? [{ type: 'text', text: value }] : value),
  z.array(block, { error: 'expected a string or a list of content blocks ({type: "text", text} …)' }),
);

const customTool = z.object({
  type: z.literal('custom').nullish(),
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});
const tool = z
  .looseObject({ type: z.string().nullish() })
  .superRefine((value, ctx) => {
    if (value.type != null && value.type !== 'custom') {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `server tool "${value.type}" is not supported: this gateway serves client tools only ({name, description, input_schema}), which your code runs`,
      });
    }
  })
  .pipe(customTool);

const toolChoice = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('none') }),
  ],
  { error: 'expected {type: "auto" | "any" | "none"} or {type: "tool", name}' },
);

export const anthropicMessagesSchema = z.object({
  model: z.string().min(1),
  max_tokens: z
    .number({ error: (issue) => (issue.input === undefined ? 'required (the Messages API requires it)' : undefined) })
    .int()
    .positive(),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  messages: z
    .array(z.object({ role: z.enum(['user', 'assistant', 'system']), content }), {
      error: (issue) => (issue.input === undefined ? 'required' : 'expected a list of messages'),
    })
    .min(1),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().positive().optional(),
  stop_sequences: z.array(z.string()).optional(),
  metadata: z.object({ user_id: z.string().nullish() }).optional(),
  output_config: z
    .object({
      format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish(),
      effort: z.enum(['low', 'medium', 'high']).nullish(),
    })
    .optional(),
  thinking: z
    .union([
      z.object({ type: z.literal('enabled'), budget_tokens: z.number().int().positive() }),
      z.object({ type: z.literal('disabled') }),
    ])
    .optional(),
  service_tier: z.string().optional(),
  stream: z.boolean().optional(),
});

/** count_tokens takes the same body without the output settings. */
export const anthropicCountTokensSchema = anthropicMessagesSchema.omit({ max_tokens: true, stream: true }).extend({
  max_tokens: z.number().int().positive().optional(),
});

type AnthropicMessagesBody = z.output<typeof anthropicMessagesSchema>;
type Content = z.output<typeof content>;
type Block = z.output<typeof block>;

const textOf = (blocks: readonly { type: string; text?: string }[]) =>
  blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('');

const imageOf = (b: Extract<Block, { type: 'image' }>) => (b.source.type === 'base64' ? b.source.data : b.source.url);

function toolResultText(b: Extract<Block, { type: 'tool_result' }>): string {
  const text = typeof b.content === 'string' ? b.content : textOf(b.content ?? []);
  return b.is_error ? `Error: ${text}` : text;
}

/** One user turn: each tool_result becomes a tool message (they come first, as Anthropic requires), the rest a user one. */
function userMessages(value: Content, toolNames: Map<string, string>): ChatMessage[] {
  const out: ChatMessage[] = [];
  let text = '';
  const images: string[] = [];
  for (const b of value) {
    if (b.type === 'tool_result') {
      const toolName = toolNames.get(b.tool_use_id);
      out.push({
        role: 'tool',
        content: toolResultText(b),
        toolCallId: b.tool_use_id,
        ...(toolName ? { toolName } : {}),
      });
    } else if (b.type === 'text') text += b.text;
    else if (b.type === 'image') images.push(imageOf(b));
  }
  if (text !== '' || images.length > 0) {
    out.push(images.length > 0 ? { role: 'user', content: text, images } : { role: 'user', content: text });
  }
  return out;
}

function assistantMessage(value: Content, toolNames: Map<string, string>): ChatMessage {
  const toolCalls: ToolCall[] = [];
  let reasoning = '';
  for (const b of value) {
    if (b.type === 'tool_use') {
      toolNames.set(b.id, b.name);
      const args = b.input && typeof b.input === 'object' && !Array.isArray(b.input) ? b.input : {};
      toolCalls.push({
        id: b.id,
        name: b.name,
        arguments: args as Record<string, unknown>,
        rawArguments: JSON.stringify(args),
      });
    } else if (b.type === 'thinking') reasoning += b.thinking;
  }
  return {
    role: 'assistant',
    content: textOf(value),
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
    ...(reasoning ? { reasoning } : {}),
  };
}

function anthropicMessagesOf(body: Pick<AnthropicMessagesBody, 'system' | 'messages'>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const system = typeof body.system === 'string' ? body.system : textOf(body.system ?? []);
  if (system) messages.push({ role: 'system', content: system });
  const toolNames = new Map<string, string>();
  for (const m of body.messages) {
    if (m.role === 'assistant') messages.push(assistantMessage(m.content, toolNames));
    else if (m.role === 'user') messages.push(...userMessages(m.content, toolNames));
    else messages.push({ role: 'system', content: textOf(m.content) });
  }
  return messages;
}

/** An Anthropic Messages body → the router's chat request (without routing fields and signal). */
export function anthropicToChatRequest(body: AnthropicMessagesBody): ChatRequest {
  const request: ChatRequest = { messages: anthropicMessagesOf(body), maxOutputTokens: body.max_tokens };
  const tools = body.tools ?? [];
  const choice = body.tool_choice;
  if (choice?.type === 'tool' && !tools.some((t) => t.name === choice.name)) {
    throw new GatewayError({
      code: 'INVALID_REQUEST',
      status: 400,
      param: 'tool_choice.name',
      message: `POST /v1/messages: tool_choice.name: names the tool "${choice.name}", which is not among the tools offered (${tools.map((t) => t.name).join(', ') || 'none'})`,
      fix: 'name one of the tools in `tools`',
    });
  }
  // `none` with tools is the same as no tools, for every provider.
  if (tools.length > 0 && choice?.type !== 'none') {
    request.tools = tools.map((t) => ({ name: t.name, description: t.description ?? '', parameters: t.input_schema }));
    if (choice?.type === 'any') request.toolChoice = 'required';
    if (choice?.type === 'tool') request.toolChoice = { name: choice.name };
    if (choice && choice.disable_parallel_tool_use === true) {
      request.parallelToolCalls = false;
    }
  }
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.topP = body.top_p;
  if (body.top_k !== undefined) request.topK = body.top_k;
  if (body.stop_sequences && body.stop_sequences.length > 0) request.stop = body.stop_sequences;
  if (body.metadata?.user_id) request.user = body.metadata.user_id;
  const format = body.output_config?.format;
  if (format) request.responseFormat = { type: 'json', schema: format.schema };
  // Extended thinking as a reasoning effort: off, or by its token budget; `output_config.effort` names it directly.
  const thinking = body.thinking;
  if (thinking?.type === 'disabled') request.reasoningEffort = 'none';
  else if (thinking?.type === 'enabled') {
    request.reasoningEffort =
      thinking.budget_tokens < 4_096 ? 'low' : thinking.budget_tokens < 16_384 ? 'medium' : 'high';
  }
  if (body.output_config?.effort) request.reasoningEffort = body.output_config.effort;
  return request;
}

/**
 * An estimate of a request's input tokens for /v1/messages/count_tokens: about four characters a token over every
 * text, tool definition and argument the model would read, and a fixed cost per image. Not a tokenizer's count.
 */
export function estimateInputTokens(body: Pick<AnthropicMessagesBody, 'system' | 'messages' | 'tools'>): number {
  let chars = 0;
  let images = 0;
  for (const m of anthropicMessagesOf(body)) {
    chars += m.content.length + 8;
    if (m.role === 'user') images += m.images?.length ?? 0;
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) chars += c.name.length + c.rawArguments.length;
  }
  for (const t of body.tools ?? []) chars += JSON.stringify(t).length;
  return Math.ceil(chars / 4) + images * 1_600;
}
