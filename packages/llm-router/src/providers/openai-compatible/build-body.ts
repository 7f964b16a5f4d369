import type { ToolChoice, ToolDefinition } from '@unity/core';
import type { ProviderRequest } from '../../provider';
import { userAgent } from '../http-transport';
import { toWireMessages } from './convert-messages';

/**
 * `minimax`: MiniMax's quirks (reasoning split and re-sent, `base_resp` errors, `max_completion_tokens`). `openai`:
 * OpenAI itself. Unset: any other compatible server (vLLM, LM Studio, llama.cpp server, OpenRouter).
 */
export type OpenAICompatibleFlavor = 'minimax' | 'openai';

/**
 * The headers of every request, built once per provider: JSON both ways, the bearer key when there is one, then the
 * caller's extra headers (names compared without case; they may replace the key only when one was given).
 */
export function buildHeaders(apiKey: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/json',
    'user-agent': userAgent,
  };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  for (const name of Object.keys(extra)) headers[name.toLowerCase()] = extra[name]!;
  if (!apiKey) delete headers.authorization;
  return headers;
}

/**
 * The Chat Completions body for a request: only the options set, `max_tokens` for generic servers and
 * `max_completion_tokens` for MiniMax and OpenAI, MiniMax's `reasoning_split`, and for a stream the request for usage.
 */
export function buildChatBody(
  request: ProviderRequest,
  flavor: OpenAICompatibleFlavor | undefined,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: toWireMessages(request.messages, flavor === 'minimax'),
  };
  if (request.tools?.length) body.tools = request.tools.map(toWireTool);
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxOutputTokens !== undefined) {
    body[flavor === undefined ? 'max_tokens' : 'max_completion_tokens'] = request.maxOutputTokens;
  }
  if (request.stop?.length) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.toolChoice !== undefined) body.tool_choice = toWireToolChoice(request.toolChoice);
  if (request.parallelToolCalls !== undefined) body.parallel_tool_calls = request.parallelToolCalls;
  if (request.topP !== undefined) body.top_p = request.topP;
  // Not in OpenAI's API; self-hosted servers (vLLM, llama.cpp server, LM Studio) take it.
  if (request.topK !== undefined) body.top_k = request.topK;
  if (request.frequencyPenalty !== undefined) body.frequency_penalty = request.frequencyPenalty;
  if (request.presencePenalty !== undefined) body.presence_penalty = request.presencePenalty;
  if (request.logprobs) {
    body.logprobs = true;
    body.top_logprobs = request.logprobs.top;
  }
  if (request.user !== undefined) body.user = request.user;
  if (request.reasoningEffort !== undefined) body.reasoning_effort = request.reasoningEffort;
  if (request.responseFormat) {
    body.response_format = request.responseFormat.schema
      ? { type: 'json_schema', json_schema: { name: 'response', schema: request.responseFormat.schema } }
      : { type: 'json_object' };
  }
  if (flavor === 'minimax') body.reasoning_split = true;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

function toWireTool(tool: ToolDefinition) {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  };
}

function toWireToolChoice(choice: ToolChoice) {
  return typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice;
}
