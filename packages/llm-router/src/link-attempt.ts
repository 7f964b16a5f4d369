import { type ChatResponse, raceAbort, type TokenLogprob, type ToolCall } from '@unity/core';
import type { Link } from './chain';
import type { UnityConfig } from './config-schema';
import { ProviderError } from './errors';
import { compactToFit, estimateTokens, promptBudget } from './prompt-budget';
import type { Provider, ProviderRequest } from './provider';
import { enforceToolPlan, planTools, unhonouredParameter } from './request-options';
import { AbortReason, type RequestScope } from './request-scope';
import type { RouterEventMap } from './router-events';
import type { RouterRequest, RouterResponse, RouterStreamEvent } from './router-types';

/** How one attempt on one model ended. */
export type AttemptOutcome =
  | { ok: true; response: ChatResponse; compacted?: RouterResponse['compacted']; firstTokenMs: number }
  | {
      ok: false;
      error: unknown;
      /** Tokens had been streamed to the caller: the request cannot fall back any more. */
      committed: boolean;
      /** The request reached the provider (false: refused before sending). */
      sent: boolean;
      /** The caller aborted or the deadline passed: the whole request stops. */
      stop?: AbortReason;
      /** The request option the model cannot honour (a refusal before sending). */
      param?: string;
    };

export interface AttemptContext {
  config: UnityConfig;
  kind: 'chat' | 'stream';
  scope: RequestScope;
  /** Old turns were dropped to fit the model's context. */
  onCompacted(event: Omit<RouterEventMap['compacted'][0], 'requestId'>): void;
}

/**
 * One attempt on one model, bounded by its timeouts (`cloud_llm.timeout_seconds` for remote models,
 * `router.local_timeout_seconds` for local ones, `router.first_token_timeout_seconds` until a stream's first token) and
 * by the request's scope. In stream mode it yields the events after the commit point (the first token).
 */
export async function* attemptLink(
  request: RouterRequest,
  link: Link,
  provider: Provider,
  context: AttemptContext,
): AsyncGenerator<RouterStreamEvent, AttemptOutcome> {
  const { config, kind, scope } = context;
  const controller = new AbortController();
  const unlink = scope.link(controller);
  const { cloud_llm, router } = config;
  const timeout = link.remote
    ? { ms: cloud_llm.timeout_seconds * 1000, setting: `cloud_llm.timeout_seconds = ${cloud_llm.timeout_seconds}` }
    : {
        ms: router.local_timeout_seconds * 1000,
        setting: `router.local_timeout_seconds = ${router.local_timeout_seconds}`,
      };
  const timer = setTimeout(() => controller.abort(new AbortReason('attempt-timeout', timeout.setting)), timeout.ms);
  let firstTokenTimer: NodeJS.Timeout | undefined;
  let committed = false;
  let done = false;
  const signal = controller.signal;
  const began = performance.now();
  let firstTokenMs: number | undefined;
  try {
    const prepared = await prepare(request, link, provider, signal, context);
    if ('refused' in prepared) {
      const param = prepared.param ? { param: prepared.param } : {};
      return { ok: false, error: prepared.refused, committed, sent: false, ...param };
    }
    const plan = planTools(request, prepared.messages, provider.features);
    const providerRequest: ProviderRequest = {
      ...passedOptions(request),
      messages: plan.messages,
      model: link.ref.model,
      signal,
      ...(plan.tools.length > 0 ? { tools: plan.tools } : {}),
      ...(plan.toolChoice !== undefined ? { toolChoice: plan.toolChoice } : {}),
      ...(plan.parallelToolCalls !== undefined ? { parallelToolCalls: plan.parallelToolCalls } : {}),
      ...maxOutputTokens(request, link.cloud ? cloud_llm.max_tokens : router.max_output_tokens),
    };
    const compacted = prepared.compacted ? { compacted: prepared.compacted } : {};
    const where = { provider: link.providerId, model: link.modelString };
    // A forced tool call the router enforces is checked on the whole answer before anything is streamed.
    if (kind === 'chat' || plan.mustCall !== undefined) {
      const response = enforceToolPlan(plan, await raceAbort(provider.chat(providerRequest), signal), where);
      done = true;
      if (kind === 'stream') yield* replay(response);
      return { ok: true, response, ...compacted, firstTokenMs: performance.now() - began };
    }

    firstTokenTimer = setTimeout(
      () =>
        controller.abort(
          new AbortReason(
            'first-token-timeout',
            `router.first_token_timeout_seconds = ${router.first_token_timeout_seconds}`,
          ),
        ),
      router.first_token_timeout_seconds * 1000,
    );
    const iterator = provider.stream(providerRequest)[Symbol.asyncIterator]();
    let content = '';
    let reasoning = '';
    const toolCalls: ToolCall[] = [];
    const logprobs: TokenLogprob[] = [];
    try {
      for (;;) {
        const step = await raceAbort(iterator.next(), signal);
        if (step.done) {
          throw new ProviderError({
            code: 'BAD_RESPONSE',
            message: `the ${link.providerId} stream ended without a finish event`,
            fix: 'ask again; if it repeats, the upstream server cuts its streams short (check its logs)',
            provider: link.providerId,
            model: link.ref.model,
          });
        }
        const event = step.value;
        if (event.type === 'finish') {
          done = true;
          const response: ChatResponse = {
            content,
            toolCalls,
            ...(reasoning ? { reasoning } : {}),
            usage: event.usage,
            finishReason: event.finishReason,
            model: event.model,
            ...(logprobs.length > 0 ? { logprobs } : {}),
          };
          return { ok: true, response, ...compacted, firstTokenMs: firstTokenMs ?? performance.now() - began };
        }
        if (!committed) {
          committed = true;
          firstTokenMs = performance.now() - began;
          clearTimeout(firstTokenTimer);
        }
        if (event.type === 'text-delta') {
          content += event.text;
          if (event.logprobs) logprobs.push(...event.logprobs);
        } else if (event.type === 'reasoning-delta') reasoning += event.text;
        else if (plan.firstCallOnly && toolCalls.length > 0) continue;
        else toolCalls.push(event.toolCall);
        yield event;
      }
    } finally {
      // The consumer stopped, or the attempt failed: make sure the upstream request is cancelled.
      if (!done && !signal.aborted) controller.abort(new AbortReason('consumer-stopped'));
      // Always close the provider's stream, after a finish too, so that its own clean-up (finally blocks) runs.
      iterator.return?.().catch(() => {});
    }
  } catch (error) {
    return failedAttempt(error, signal, committed, link);
  } finally {
    clearTimeout(timer);
    clearTimeout(firstTokenTimer);
    unlink();
  }
}

/** A failed attempt's outcome: the request stops (caller, deadline), the attempt timed out, or the provider failed. */
function failedAttempt(error: unknown, signal: AbortSignal, committed: boolean, link: Link): AttemptOutcome {
  const reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
  if (reason?.kind === 'caller' || reason?.kind === 'deadline') {
    return { ok: false, error, committed, sent: true, stop: reason };
  }
  if (reason?.kind === 'attempt-timeout' || reason?.kind === 'first-token-timeout') {
    const what = reason.kind === 'attempt-timeout' ? 'no complete answer' : 'no first token';
    return {
      ok: false,
      committed,
      sent: true,
      error: new ProviderError({
        code: 'TIMEOUT',
        message: `${what} from ${link.providerId} within ${reason.setting}`,
        fix: `raise ${reason.setting?.split(' ')[0]}${link.remote ? '' : ', or warm the model up first (a cold load can take minutes)'}`,
        provider: link.providerId,
        model: link.ref.model,
        cause: error,
      }),
    };
  }
  return { ok: false, error, committed, sent: true };
}

/**
 * Check the model's capabilities before sending: tools only to a model that has them, and a prompt that fits its
 * context (compacted when `router.context_overflow` is `compact`, refused otherwise). A refusal is an `UNSUPPORTED`
 * ProviderError returned as `refused`: nothing was sent.
 */
async function prepare(
  request: RouterRequest,
  link: Link,
  provider: Provider,
  signal: AbortSignal,
  context: AttemptContext,
): Promise<
  | { messages: RouterRequest['messages']; compacted?: RouterResponse['compacted'] }
  | { refused: ProviderError; param?: string }
> {
  const unsupported = (message: string, fix: string) =>
    new ProviderError({ code: 'UNSUPPORTED', message, fix, provider: link.providerId, model: link.ref.model });
  const param = unhonouredParameter(request, provider.features);
  if (param) {
    return {
      param,
      refused: unsupported(
        `${link.modelString} cannot honour ${param}, so the request was not sent to it`,
        `drop ${param}, or serve the request with a model that honours it`,
      ),
    };
  }
  if (!provider.capabilities) return { messages: request.messages };
  const capabilities = await raceAbort(provider.capabilities(link.ref.model, signal), signal);
  if (!capabilities) return { messages: request.messages };
  const tools = request.tools ?? [];
  if (tools.length > 0 && !capabilities.tools) {
    return {
      refused: unsupported(
        `${link.modelString} cannot call tools (its capabilities lack "tools"), so the request was not sent to it`,
        `use a model with tool support for models.${request.role ?? 'reasoning'} (e.g. ollama_chat/qwen2.5-coder:7b)`,
      ),
    };
  }
  const { config } = context;
  // Ollama runs the model with num_ctx = min(real context, ollama.max_context): check against what it will use.
  const maxContext = link.ref.kind === 'ollama' ? config.ollama.max_context : undefined;
  const contextLength =
    maxContext === undefined
      ? capabilities.contextLength
      : Math.min(capabilities.contextLength ?? maxContext, maxContext);
  if (contextLength === undefined) return { messages: request.messages };
  const budget = promptBudget(contextLength, request.maxOutputTokens);
  const estimated = estimateTokens(request.messages, tools);
  if (estimated <= budget) return { messages: request.messages };
  const tooLong = `the prompt (about ${estimated} tokens) does not fit ${link.modelString}'s context of ${contextLength} tokens`;
  if (config.router.context_overflow === 'refuse') {
    return {
      refused: unsupported(
        `${tooLong}; it was not sent rather than truncated`,
        'shorten the conversation, use a model with a longer context, or set router.context_overflow: compact',
      ),
    };
  }
  const compaction = compactToFit(request.messages, tools, budget);
  if (!compaction) {
    return {
      refused: unsupported(
        `${tooLong}, even with every older turn dropped`,
        'shorten the system prompt or the last message, or use a model with a longer context',
      ),
    };
  }
  const compacted = {
    droppedMessages: compaction.droppedMessages,
    estimatedTokens: compaction.estimatedTokens,
    contextLength,
  };
  context.onCompacted({ provider: link.providerId, model: link.modelString, ...compacted });
  return { messages: compaction.messages, compacted };
}

/** The request's sampling and output options a provider receives as they are. */
function passedOptions(request: RouterRequest): Partial<ProviderRequest> {
  const passed: Partial<ProviderRequest> = {};
  // Written out rather than looped over a list of names: this runs on every attempt, and stays a plain object.
  if (request.responseFormat !== undefined) passed.responseFormat = request.responseFormat;
  if (request.temperature !== undefined) passed.temperature = request.temperature;
  if (request.seed !== undefined) passed.seed = request.seed;
  if (request.topP !== undefined) passed.topP = request.topP;
  if (request.topK !== undefined) passed.topK = request.topK;
  if (request.frequencyPenalty !== undefined) passed.frequencyPenalty = request.frequencyPenalty;
  if (request.presencePenalty !== undefined) passed.presencePenalty = request.presencePenalty;
  if (request.logprobs !== undefined) passed.logprobs = request.logprobs;
  if (request.reasoningEffort !== undefined) passed.reasoningEffort = request.reasoningEffort;
  if (request.user !== undefined) passed.user = request.user;
  if (request.stop?.length) passed.stop = request.stop;
  return passed;
}

function maxOutputTokens(request: RouterRequest, fallback: number | undefined): { maxOutputTokens?: number } {
  const value = request.maxOutputTokens ?? fallback;
  return value === undefined ? {} : { maxOutputTokens: value };
}

/** A whole answer (a cached one, or one checked before streaming) as stream events. */
export function* replay(response: ChatResponse): Generator<RouterStreamEvent> {
  if (response.reasoning) yield { type: 'reasoning-delta', text: response.reasoning };
  if (response.content) {
    yield {
      type: 'text-delta',
      text: response.content,
      ...(response.logprobs ? { logprobs: response.logprobs } : {}),
    };
  }
  for (const toolCall of response.toolCalls) yield { type: 'tool-call', toolCall };
}
