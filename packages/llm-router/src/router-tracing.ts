import type { EventEmitter } from 'node:events';
import {
  type Attributes,
  type Context,
  context,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Attempt } from './errors';
import { modelPrefixes } from './model-string';
import type { RouterEventMap, Target } from './router-events';

/** What `traceRouter` needs of a router: its typed events (the `Router` has them). */
export type TraceableRouter = Pick<EventEmitter<RouterEventMap>, 'on' | 'off'>;

/** One attempt of a request, as its events told it. */
interface AttemptRecord {
  target: Target;
  startMs: number;
  endMs?: number;
  try?: number;
  probe?: boolean;
  outcome?: Attempt;
  /** The attempt follows a failed one of the same model (`retry`), or a failed model (`fallback`). */
  after?: Attributes;
  compacted?: { droppedMessages: number; estimatedTokens: number; contextLength: number };
}

/** A request in flight: its caller's context (the parent of its span) and what happened so far. */
interface RequestRecord {
  parent: Context;
  /** From `request-start`: when the call began, and the model (if it named one) and options it asked for. */
  startMs?: number;
  requested?: string;
  requestAttributes?: Attributes;
  attempts: AttemptRecord[];
  /** Applied to the next attempt: set by `retry` and `fallback`. */
  next?: Attributes;
  retries: number;
  fallbacks: number;
  cached?: Target;
  lastResort?: string;
}

/** Requests whose end never came (a listener added mid-request, a router bug) are forgotten beyond this many. */
const maxPending = 10_000;

const now = () => performance.timeOrigin + performance.now();

/** `ollama_chat/qwen2.5-coder:7b` → `qwen2.5-coder:7b`: the model as its provider names it. */
function modelName(modelString: string): string {
  const slash = modelString.indexOf('/');
  return slash > 0 && modelString.slice(0, slash) in modelPrefixes ? modelString.slice(slash + 1) : modelString;
}

/**
 * Trace a router's requests with OpenTelemetry, from its events: one span per request (`chat {model}`, kind CLIENT,
 * GenAI attributes: `gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.provider.name`, `gen_ai.response.model`,
 * `gen_ai.usage.input_tokens` / `output_tokens`, `gen_ai.response.finish_reasons`), and under it one span per provider
 * call (`chat {model}`, kind CLIENT) or skipped model (kind INTERNAL, `unity.router.skipped`), each with the retry or
 * fallback that led to it (`unity.router.retry.*`, `unity.router.fallback.*`) and its error (`error.type`).
 *
 * The request span's parent is the caller's active context (router events are emitted inside the call), so a
 * gateway request or an agent step is its parent. Spans are written when the request ends, with the times the
 * events gave. Without a tracer nothing is registered: returns a no-op. The returned function stops tracing.
 */
export function traceRouter(router: TraceableRouter, tracer: Tracer | undefined): () => void {
  if (!tracer) return () => {};
  const pending = new Map<number, RequestRecord>();
  const recordOf = (requestId: number): RequestRecord => {
    let record = pending.get(requestId);
    if (!record) {
      if (pending.size >= maxPending) pending.delete(pending.keys().next().value as number);
      record = { parent: context.active(), attempts: [], retries: 0, fallbacks: 0 };
      pending.set(requestId, record);
    }
    return record;
  };
  const open = (record: RequestRecord, target: Target) =>
    record.attempts.findLast(
      (a) => a.outcome === undefined && a.target.provider === target.provider && a.target.model === target.model,
    );

  const listeners: { [K in keyof RouterEventMap]?: (...args: RouterEventMap[K]) => void } = {
    'request-start': ({ requestId, role, model, request }) => {
      const record = recordOf(requestId);
      record.startMs = now();
      if (model) record.requested = modelName(model);
      record.requestAttributes = { 'unity.router.role': role, ...requestAttributes(request) };
    },
    'attempt-start': ({ requestId, provider, model, try: tryNo, probe }) => {
      const record = recordOf(requestId);
      record.attempts.push({
        target: { provider, model },
        startMs: now(),
        try: tryNo,
        probe,
        ...(record.next ? { after: record.next } : {}),
      });
      record.next = undefined;
    },
    attempt: ({ requestId, ...outcome }) => {
      const record = recordOf(requestId);
      const started = open(record, outcome);
      const endMs = now();
      if (started) Object.assign(started, { endMs, outcome });
      else record.attempts.push({ target: outcome, startMs: endMs, endMs, outcome });
    },
    retry: ({ requestId, delayMs, error }) => {
      const record = recordOf(requestId);
      record.retries += 1;
      record.next = { 'unity.router.retry.delay_ms': delayMs, 'unity.router.retry.reason': error.code };
    },
    fallback: ({ requestId, from, reason }) => {
      const record = recordOf(requestId);
      record.fallbacks += 1;
      record.next = { 'unity.router.fallback.from': from.model, 'unity.router.fallback.reason': reason.code };
    },
    'cache-hit': ({ requestId, provider, model }) => {
      recordOf(requestId).cached = { provider, model };
    },
    'last-resort': ({ requestId, name }) => {
      recordOf(requestId).lastResort = name;
    },
    compacted: ({ requestId, provider, model, droppedMessages, estimatedTokens, contextLength }) => {
      const attempt = open(recordOf(requestId), { provider, model });
      if (attempt) attempt.compacted = { droppedMessages, estimatedTokens, contextLength };
    },
    'request-end': (end) => {
      const record = recordOf(end.requestId);
      pending.delete(end.requestId);
      writeSpans(tracer, record, end);
    },
  };
  const entries = Object.entries(listeners) as [keyof RouterEventMap, (...args: unknown[]) => void][];
  for (const [name, listener] of entries) router.on(name, listener as never);
  return () => {
    for (const [name, listener] of entries) router.off(name, listener as never);
    pending.clear();
  };
}

type RequestEnd = RouterEventMap['request-end'][0];

/** The request's span and, under it, one per attempt, with the times the events gave. */
function writeSpans(tracer: Tracer, record: RequestRecord, end: RequestEnd): void {
  const endMs = now();
  const first = record.attempts[0]?.target ?? record.cached;
  const requested = record.requested ?? (first ? modelName(first.model) : undefined);
  const sent = record.attempts.filter((a) => a.try !== undefined && a.outcome?.skipped !== true);
  const span = tracer.startSpan(
    requested ? `chat ${requested}` : 'chat',
    {
      kind: SpanKind.CLIENT,
      startTime: record.startMs ?? endMs - end.ms,
      attributes: {
        'gen_ai.operation.name': 'chat',
        ...(requested ? { 'gen_ai.request.model': requested } : {}),
        ...record.requestAttributes,
        'unity.router.request_id': end.requestId,
        'unity.router.kind': end.kind,
        'unity.router.attempts': sent.length,
        'unity.router.skipped': record.attempts.length - sent.length,
        'unity.router.retries': record.retries,
        'unity.router.fallbacks': record.fallbacks,
        'unity.router.cached': record.cached !== undefined,
        ...(record.lastResort ? { 'unity.router.last_resort': record.lastResort } : {}),
      },
    },
    record.parent,
  );
  if (!span.isRecording()) {
    span.end(endMs);
    return;
  }
  const parent = trace.setSpan(record.parent, span);
  for (const attempt of record.attempts) writeAttemptSpan(tracer, parent, attempt, endMs, end);
  const { response, error } = end;
  if (response) {
    const answered = [...record.attempts].reverse().find((a) => a.outcome?.ok)?.target ?? record.cached;
    span.setAttributes({
      'gen_ai.provider.name': response.provider,
      'gen_ai.response.model': response.model,
      'gen_ai.response.finish_reasons': [response.finishReason],
      'gen_ai.usage.input_tokens': response.usage.inputTokens,
      'gen_ai.usage.output_tokens': response.usage.outputTokens,
      ...(answered ? { 'unity.router.model': answered.model } : {}),
    });
  }
  if (error) {
    span.setAttribute('error.type', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end(endMs);
}

function writeAttemptSpan(
  tracer: Tracer,
  parent: Context,
  attempt: AttemptRecord,
  requestEndMs: number,
  end: RequestEnd,
): void {
  const { target, outcome } = attempt;
  const skipped = attempt.try === undefined;
  const model = modelName(target.model);
  const span = tracer.startSpan(
    `chat ${model}`,
    {
      kind: skipped ? SpanKind.INTERNAL : SpanKind.CLIENT,
      startTime: attempt.startMs,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': target.provider,
        'gen_ai.request.model': model,
        'unity.router.model': target.model,
        'unity.router.skipped': skipped || outcome?.skipped === true,
        ...(attempt.try !== undefined ? { 'unity.router.try': attempt.try } : {}),
        ...(attempt.probe ? { 'unity.router.probe': true } : {}),
        ...(outcome?.lastResort ? { 'unity.router.last_resort': true } : {}),
        ...(attempt.compacted
          ? {
              'unity.router.compacted.dropped_messages': attempt.compacted.droppedMessages,
              'unity.router.compacted.estimated_tokens': attempt.compacted.estimatedTokens,
            }
          : {}),
        ...attempt.after,
      },
    },
    parent,
  );
  // An attempt the request ended during (aborted, past its deadline) failed with the request's error.
  const error = outcome ? outcome.error : (end.error ?? { code: 'UNFINISHED', message: 'the request ended first' });
  if (error && !outcome?.ok) {
    span.setAttribute('error.type', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end(attempt.endMs ?? requestEndMs);
}

/** The request's options as GenAI attributes (`gen_ai.request.*`), only those it set. */
function requestAttributes(request: RouterEventMap['request-start'][0]['request']): Attributes {
  const attributes: Attributes = {};
  const set = (name: string, value: number | string[] | undefined) => {
    if (value !== undefined) attributes[name] = value;
  };
  set('gen_ai.request.temperature', request.temperature);
  set('gen_ai.request.max_tokens', request.maxOutputTokens);
  set('gen_ai.request.top_p', request.topP);
  set('gen_ai.request.top_k', request.topK);
  set('gen_ai.request.seed', request.seed);
  set('gen_ai.request.frequency_penalty', request.frequencyPenalty);
  set('gen_ai.request.presence_penalty', request.presencePenalty);
  set('gen_ai.request.stop_sequences', request.stop?.length ? request.stop : undefined);
  if (request.tools?.length) attributes['unity.router.tools'] = request.tools.length;
  if (request.localOnly) attributes['unity.router.local_only'] = true;
  return attributes;
}
