import { randomUUID } from 'node:crypto';
import type { ChatRequest, FinishReason } from '@unity/core';
import { z } from 'zod';
import type { ChatWire } from './chat-wire';
import { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';
import { openaiErrorBody } from './openai-wire';

/** OpenAI's default `max_tokens` for legacy completions. */
const defaultMaxTokens = 16;

/**
 * The body of the legacy POST /v1/completions. `suffix`, several prompts, token-id prompts, `n`/`best_of` above 1 and
 * `logprobs` are refused by `completionToChatRequest` with the field named, never dropped.
 */
export const completionSchema = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))], {
    error: 'expected a string or a list of strings',
  }),
  suffix: z.string().nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).nullish(),
  best_of: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: z.boolean().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.number().int().nullish(),
  user: z.string().nullish(),
});

type CompletionBody = z.output<typeof completionSchema>;

function refuse(param: string, message: string, fix: string): GatewayError {
  return new GatewayError({
    code: 'INVALID_REQUEST',
    status: 400,
    param,
    message: `POST /v1/completions: ${param}: ${message}`,
    fix,
  });
}

/** The prompt text of a body, refusing what cannot be served (several prompts, token ids). */
export function completionPrompt(body: CompletionBody): string {
  const prompt = body.prompt;
  if (typeof prompt === 'string') return prompt;
  if (prompt.length === 0) throw refuse('prompt', 'the list is empty', 'send a prompt string');
  if (prompt.some((p) => typeof p !== 'string')) {
    throw refuse('prompt', 'token-id prompts are not supported', 'send the prompt as text');
  }
  if (prompt.length > 1) {
    throw refuse(
      'prompt',
      `${prompt.length} prompts in one request are not supported`,
      'send one request per prompt (or a list of one)',
    );
  }
  return prompt[0] as string;
}

/** Legacy completion body → the router's chat request: the prompt as one user turn, refusing what it cannot honour. */
export function completionToChatRequest(body: CompletionBody, prompt: string): ChatRequest {
  if (body.suffix) {
    throw refuse('suffix', 'insertion (a suffix after the completion) is not supported', 'leave suffix out');
  }
  if ((body.n ?? 1) > 1)
    throw refuse('n', 'only one completion per request is served', 'leave n out, or send n requests');
  if ((body.best_of ?? 1) > 1) throw refuse('best_of', 'best_of above 1 is not supported', 'leave best_of out');
  if (body.logprobs != null) {
    throw refuse(
      'logprobs',
      'log probabilities are not served on /v1/completions',
      'use /v1/chat/completions with logprobs: true',
    );
  }
  const request: ChatRequest = {
    messages: [{ role: 'user', content: prompt }],
    maxOutputTokens: body.max_tokens ?? defaultMaxTokens,
  };
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.stop != null) request.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (body.seed != null) request.seed = body.seed;
  if (body.presence_penalty != null) request.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) request.frequencyPenalty = body.frequency_penalty;
  if (body.user != null) request.user = body.user;
  return request;
}

const finishReason = (reason: FinishReason): 'stop' | 'length' | 'content_filter' =>
  reason === 'length' || reason === 'content_filter' ? reason : 'stop';

/**
 * OpenAI's legacy completions: `text_completion` objects, SSE chunks of the same object ending in `data: [DONE]`, and
 * `echo` honoured (the prompt leads the text).
 */
export function completionsWire(body: CompletionBody, prompt: string): ChatWire {
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const lead = body.echo ? prompt : '';
  const object = (text: string, finish: string | null, extra: Record<string, unknown> = {}) => ({
    id,
    object: 'text_completion',
    created,
    model: body.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  const usage = (r: GatewayChatResponse) => ({
    prompt_tokens: r.usage.inputTokens,
    completion_tokens: r.usage.outputTokens,
    total_tokens: r.usage.totalTokens,
  });
  const sse = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  return {
    endpoint: 'openai.completions',
    streamContentType: 'text/event-stream; charset=utf-8',
    completion: (r) => object(lead + r.content, finishReason(r.finishReason), { usage: usage(r) }),
    ...(lead ? { streamStart: () => sse(object(lead, null)) } : {}),
    streamEvent: (event: GatewayStreamEvent) => {
      if (event.type === 'text-delta') return event.text === '' ? '' : sse(object(event.text, null));
      if (event.type !== 'finish') return '';
      const last = sse(object('', finishReason(event.response.finishReason)));
      const withUsage =
        body.stream_options?.include_usage === true
          ? sse({
              id,
              object: 'text_completion',
              created,
              model: body.model,
              choices: [],
              usage: usage(event.response),
            })
          : '';
      return `${last}${withUsage}data: [DONE]\n\n`;
    },
    streamError: (error) => sse(openaiErrorBody(error)),
    errorBody: openaiErrorBody,
  };
}
