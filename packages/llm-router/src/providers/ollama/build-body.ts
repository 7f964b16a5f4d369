import type { ToolDefinition } from '@unity/core';
import type { ModelCapabilities, ProviderRequest } from '../../provider';
import { userAgent } from '../http-transport';
import { toOllamaMessages } from './convert-messages';

/** The headers of every request to Ollama. */
export const ollamaHeaders: Readonly<Record<string, string>> = Object.freeze({
  accept: 'application/json',
  'content-type': 'application/json',
  'user-agent': userAgent,
});

export interface BodySettings {
  /** Upper bound for `options.num_ctx`. */
  maxContext: number;
  keepAlive: string | number | undefined;
}

/**
 * The `/api/chat` body for a request: `num_ctx` set to the model's context length (capped by `maxContext`), the
 * sampling options set, `think` from the reasoning effort, tools, a JSON format, and `keep_alive`.
 */
export function buildChatBody(
  request: ProviderRequest,
  capabilities: ModelCapabilities,
  settings: BodySettings,
  stream: boolean,
): Record<string, unknown> {
  const options: Record<string, unknown> = {
    num_ctx: Math.min(capabilities.contextLength ?? settings.maxContext, settings.maxContext),
  };
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.maxOutputTokens !== undefined) options.num_predict = request.maxOutputTokens;
  if (request.stop?.length) options.stop = request.stop;
  if (request.seed !== undefined) options.seed = request.seed;
  if (request.topP !== undefined) options.top_p = request.topP;
  if (request.topK !== undefined) options.top_k = request.topK;
  if (request.frequencyPenalty !== undefined) options.frequency_penalty = request.frequencyPenalty;
  if (request.presencePenalty !== undefined) options.presence_penalty = request.presencePenalty;

  const body: Record<string, unknown> = {
    model: request.model,
    messages: toOllamaMessages(request.messages),
    stream,
    options,
  };
  // Ollama ≥ 0.12.11.
  if (request.logprobs) {
    body.logprobs = true;
    body.top_logprobs = request.logprobs.top;
  }
  // Ollama's `think`: off, or on (levels only for the models that have them, so on is on).
  if (request.reasoningEffort !== undefined) body.think = request.reasoningEffort !== 'none';
  if (request.tools?.length) body.tools = request.tools.map(toOllamaTool);
  if (request.responseFormat) body.format = request.responseFormat.schema ?? 'json';
  if (settings.keepAlive !== undefined) body.keep_alive = settings.keepAlive;
  return body;
}

function toOllamaTool(tool: ToolDefinition) {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  };
}
