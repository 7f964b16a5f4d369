import type { ChatMessage, ChatRequest, ToolCall, ToolChoice } from '@unity/core';
import { z } from 'zod';
import { GatewayError } from './errors';

// The body of OpenAI's POST /v1/responses (openai/resources/responses/responses.d.ts: ResponseCreateParams), as far
// as a stateless gateway over the router can serve it. Fields it cannot honour are refused by name, never dropped.

const inputText = z.object({ type: z.literal('input_text'), text: z.string() });
const outputText = z.object({ type: z.literal('output_text'), text: z.string() });
const refusal = z.object({ type: z.literal('refusal'), refusal: z.string() });
const inputImage = z.object({
  type: z.literal('input_image'),
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.string().nullish(),
});
const contentPart = z.discriminatedUnion('type', [inputText, outputText, refusal, inputImage], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'unsupported content part: send input_text, input_image or output_text (input_file and input_audio are not served here)'
      : undefined,
});
/** A list of parts (a string is one input_text), so that a bad part is named by its own path. */
const content = z.preprocess(
  (value) => (typeof value === 'string' ? [{ type: 'input_text', text: value }] : value),
  z.array(contentPart, { error: 'expected a string or a list of content parts ({type: "input_text", text} …)' }),
);

const messageItem = z.object({
  type: z.literal('message'),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content,
  id: z.string().nullish(),
  status: z.string().nullish(),
  phase: z.string().nullish(),
});
const functionCallItem = z.object({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
  status: z.string().nullish(),
});
const functionCallOutputItem = z.object({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: content,
  id: z.string().nullish(),
  status: z.string().nullish(),
});
const reasoningItem = z.object({
  type: z.literal('reasoning'),
  id: z.string().nullish(),
  summary: z.array(z.object({ text: z.string() })).default([]),
  content: z.array(z.object({ text: z.string() })).nullish(),
  encrypted_content: z.string().nullish(),
  status: z.string().nullish(),
});
const inputItem = z.preprocess(
  // An "easy" message ({role, content}) has no type: it is a message.
  (item) =>
    item && typeof item === 'object' && !('type' in item) && 'role' in item ? { ...item, type: 'message' } : item,
  z.discriminatedUnion('type', [messageItem, functionCallItem, functionCallOutputItem, reasoningItem], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'unsupported input item: send message, function_call, function_call_output or reasoning items (item_reference needs stored responses, which this stateless gateway does not keep)'
        : undefined,
  }),
);

const functionTool = z.object({
  type: z.literal('function'),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
const tool = z
  .looseObject({ type: z.string() })
  .superRefine((value, ctx) => {
    if (value.type !== 'function') {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `built-in tool "${value.type}" is not supported: this gateway serves function tools only (type: "function"), which your code runs`,
      });
    }
  })
  .pipe(functionTool);

const toolChoice = z.union(
  [z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), name: z.string().min(1) })],
  { error: 'expected "auto", "none", "required" or {type: "function", name}; built-in tool choices are not served' },
);

const textFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

/** The fields of ResponseCreateParams this gateway cannot honour, each with why and what to do instead. */
const refused: Record<string, (value: unknown) => string | undefined> = {
  previous_response_id: () =>
    'this gateway is stateless and keeps no responses: send the whole conversation in `input`, the earlier output items included',
  conversation: () => 'this gateway is stateless and keeps no conversations: send the whole conversation in `input`',
  background: (v) =>
    v === true ? 'background responses need stored responses, which this stateless gateway does not keep' : undefined,
  prompt: () => 'stored prompt templates are not served here: send the prompt text in `instructions` and `input`',
};

export const responsesSchema = z.object({
  model: z.string().min(1),
  // A string is one user message: a list, so that a bad item is named by its own path.
  input: z.preprocess(
    (value) => (typeof value === 'string' ? [{ type: 'message', role: 'user', content: value }] : value),
    z.array(inputItem, {
      error: (issue) =>
        issue.input === undefined ? 'required' : 'expected a string or a list of input items ({role, content} …)',
    }),
  ),
  instructions: z.string().nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: textFormat.nullish(), verbosity: z.string().nullish() }).nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  include: z.array(z.string()).nullish(),
  user: z.string().nullish(),
  reasoning: z
    .object({ effort: z.enum(['none', 'minimal', 'low', 'medium', 'high']).nullish(), summary: z.string().nullish() })
    .nullish(),
  safety_identifier: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  previous_response_id: z.unknown().optional(),
  conversation: z.unknown().optional(),
  background: z.unknown().optional(),
  prompt: z.unknown().optional(),
});

export type ResponsesBody = z.output<typeof responsesSchema>;
type Content = z.output<typeof content>;

/** Refuse, naming the field, what a stateless gateway cannot do (checked after the schema passed). */
export function refuseUnservable(body: ResponsesBody): void {
  for (const [field, reason] of Object.entries(refused)) {
    const value = body[field as keyof ResponsesBody];
    if (value === undefined || value === null) continue;
    const why = reason(value);
    if (!why) continue;
    throw new GatewayError({
      code: 'INVALID_REQUEST',
      status: 400,
      param: field,
      message: `POST /v1/responses: ${field}: not supported: ${why}`,
      fix: `leave out ${field}`,
    });
  }
}

/** Text and images of a content list; image URLs given as data URLs become their base64 payload. */
function contentOf(value: Content, where: string): { text: string; images: string[] } {
  let text = '';
  const images: string[] = [];
  value.forEach((part, index) => {
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        text += part.text;
        return;
      case 'refusal':
        text += part.refusal;
        return;
      default: {
        if (!part.image_url) {
          throw new GatewayError({
            code: 'INVALID_REQUEST',
            status: 400,
            param: `${where}.${index}`,
            message: `POST /v1/responses: ${where}.${index}: an input_image needs image_url (uploaded files, file_id, are not served here)`,
            fix: 'send the image as image_url: a data: URL with base64 data, or an https URL',
          });
        }
        const url = part.image_url;
        const comma = url.indexOf(',');
        images.push(url.startsWith('data:') && comma > 0 ? url.slice(comma + 1) : url);
      }
    }
  });
  return { text, images };
}

function parseArguments(raw: string): Record<string, unknown> {
  try {
    const value = JSON.parse(raw);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/**
 * Input items → chat messages. Consecutive function_call items (and the assistant message or reasoning before them)
 * make one assistant turn; function_call_output items become tool messages naming the call's tool.
 */
function messagesOf(body: ResponsesBody): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  const toolNames = new Map<string, string>();
  let pendingReasoning: string | undefined;
  /** The assistant turn still open for more output (text, calls), if the last item was part of one. */
  let open: Extract<ChatMessage, { role: 'assistant' }> | undefined;
  const assistant = () => {
    if (!open) {
      open = { role: 'assistant', content: '', ...(pendingReasoning ? { reasoning: pendingReasoning } : {}) };
      pendingReasoning = undefined;
      messages.push(open);
    }
    return open;
  };
  body.input.forEach((item, index) => {
    const where = `input.${index}`;
    switch (item.type) {
      case 'reasoning': {
        const parts = item.content?.length ? item.content : item.summary;
        pendingReasoning = parts.map((p) => p.text).join('\n') || undefined;
        open = undefined;
        return;
      }
      case 'function_call': {
        const call: ToolCall = {
          id: item.call_id,
          name: item.name,
          arguments: parseArguments(item.arguments),
          rawArguments: item.arguments,
        };
        toolNames.set(item.call_id, item.name);
        const turn = assistant();
        turn.toolCalls = [...(turn.toolCalls ?? []), call];
        return;
      }
      case 'function_call_output': {
        open = undefined;
        const output = contentOf(item.output, `${where}.output`).text;
        const toolName = toolNames.get(item.call_id);
        messages.push({ role: 'tool', content: output, toolCallId: item.call_id, ...(toolName ? { toolName } : {}) });
        return;
      }
      default: {
        const { text, images } = contentOf(item.content, `${where}.content`);
        if (item.role === 'assistant') {
          open = undefined;
          assistant().content = text;
          return;
        }
        open = undefined;
        if (item.role === 'user') {
          messages.push(images.length > 0 ? { role: 'user', content: text, images } : { role: 'user', content: text });
        } else messages.push({ role: 'system', content: text });
      }
    }
  });
  return messages;
}

function toolChoiceOf(choice: ResponsesBody['tool_choice']): ToolChoice | undefined {
  if (choice == null) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.name };
}

/** A Responses API body → the router's chat request (without routing fields and signal). */
export function responsesToChatRequest(body: ResponsesBody): ChatRequest {
  const request: ChatRequest = { messages: messagesOf(body) };
  const choice = toolChoiceOf(body.tool_choice);
  const tools = body.tools ?? [];
  if (typeof choice === 'object' && !tools.some((t) => t.name === choice.name)) {
    throw new GatewayError({
      code: 'INVALID_REQUEST',
      status: 400,
      param: 'tool_choice',
      message: `POST /v1/responses: tool_choice: names the function "${choice.name}", which is not among the tools offered (${tools.map((t) => t.name).join(', ') || 'none'})`,
      fix: 'name one of the function tools in `tools`',
    });
  }
  // `none` with tools is the same as no tools, for every provider.
  if (tools.length > 0 && choice !== 'none') {
    request.tools = tools.map((t) => ({
      name: t.name,
      description: t.description ?? '',
      parameters: t.parameters ?? { type: 'object', properties: {} },
    }));
    if (choice !== undefined && choice !== 'auto') request.toolChoice = choice;
    if (body.parallel_tool_calls != null) request.parallelToolCalls = body.parallel_tool_calls;
  }
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.max_output_tokens != null) request.maxOutputTokens = body.max_output_tokens;
  const user = body.user ?? body.safety_identifier;
  if (user) request.user = user;
  if (body.reasoning?.effort != null) request.reasoningEffort = body.reasoning.effort;
  const format = body.text?.format;
  if (format?.type === 'json_object') request.responseFormat = { type: 'json' };
  if (format?.type === 'json_schema') request.responseFormat = { type: 'json', schema: format.schema };
  // As OpenAI does, log probabilities come only when `include` asks for them (`top_logprobs` alone sizes nothing).
  if (body.include?.includes('message.output_text.logprobs')) request.logprobs = { top: body.top_logprobs ?? 0 };
  return request;
}
