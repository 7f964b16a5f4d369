import { type ChatMessage, describeError, type ToolCall, type Usage } from '@unity/core';
import { RouterError } from '@unity/llm-router';
import type { BenchModel } from './bench-model';
import { type BenchPrices, benchCostUsd, benchPriceOf } from './bench-prices';
import type { BenchTask } from './bench-task';
import { checkAnswer } from './task-check';

/** One task's outcome on one model. */
export interface BenchTaskResult {
  task: string;
  /** The model answered (false: `error` says why). */
  answered: boolean;
  /** The check's verdict; null for a task without a check. A task that failed to answer does not pass. */
  passed: boolean | null;
  /** Why the check failed. */
  reason?: string;
  error?: string;
  /** From the request to the end of the answer (or to the failure). */
  latencyMs: number;
  /** From the request to the first text, reasoning or tool call; null when none came. */
  ttftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  /** Output tokens per second from the first token to the end (the whole call when it came in one piece). */
  tokensPerSecond: number | null;
  /** US dollars under the prices; null when no price applies to this model. */
  costUsd: number | null;
  /** The model as the provider named it in its answer. */
  model?: string;
  /** The answer's text (its first 500 characters) and tool calls. */
  answer: string;
  toolCalls: { name: string; arguments: Record<string, unknown> }[];
  /** Milliseconds from the first token to the end: what tokens per second divides by. */
  generationMs: number;
}

interface MeasureOptions {
  /** Bound on the task, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  prices?: BenchPrices;
  now: () => number;
}

/** Why a model failed, in one line: the router's attempt at it (the model alone was tried), else the error. */
function failureOf(error: unknown): string {
  if (RouterError.isInstance(error)) {
    const attempt = error.attempts.findLast((a) => a.error !== undefined);
    if (attempt?.error) return `${attempt.error.message} [${attempt.error.code}]`;
  }
  return describeError(error).split('\n')[0] ?? '';
}

function messagesOf(task: BenchTask): ChatMessage[] {
  return [
    ...(task.system ? [{ role: 'system' as const, content: task.system }] : []),
    { role: 'user', content: task.prompt },
  ];
}

/** Send one task to one model, streamed at temperature 0, and time and judge the answer. Throws only when aborted. */
export async function measureTask(
  model: BenchModel,
  task: BenchTask,
  options: MeasureOptions,
): Promise<BenchTaskResult> {
  const { now } = options;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const started = now();
  let firstAt: number | undefined;
  let text = '';
  const calls: ToolCall[] = [];
  let usage: Usage | undefined;
  let answeredBy: string | undefined;
  let content: string | undefined;
  let finalCalls: ToolCall[] | undefined;
  try {
    for await (const event of model.stream({
      messages: messagesOf(task),
      ...(task.tools ? { tools: task.tools } : {}),
      maxOutputTokens: task.maxOutputTokens,
      temperature: 0,
      signal,
    })) {
      if (firstAt === undefined && event.type !== 'finish' && event.type !== 'error') firstAt = now();
      if (event.type === 'text-delta') text += event.text;
      else if (event.type === 'tool-call') calls.push(event.toolCall);
      else if (event.type === 'error') throw event.error;
      else if (event.type === 'finish') {
        usage = event.response.usage;
        answeredBy = event.response.model;
        content = event.response.content;
        finalCalls = event.response.toolCalls;
      }
    }
    if (usage === undefined) throw new Error('the stream ended without finishing');
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return {
      task: task.id,
      answered: false,
      passed: task.check ? false : null,
      error: timeout.aborted ? `no answer within ${options.timeoutMs} ms (the task timeout)` : failureOf(error),
      latencyMs: now() - started,
      ttftMs: firstAt === undefined ? null : firstAt - started,
      inputTokens: 0,
      outputTokens: 0,
      tokensPerSecond: null,
      costUsd: null,
      answer: text.slice(0, 500),
      toolCalls: calls.map((call) => ({ name: call.name, arguments: call.arguments })),
      generationMs: 0,
    };
  }
  const ended = now();
  const answer = content ?? text;
  const toolCalls = finalCalls && finalCalls.length > 0 ? finalCalls : calls;
  const verdict = task.check ? checkAnswer(task.check, { content: answer, toolCalls }) : undefined;
  const generationMs = firstAt !== undefined && ended - firstAt > 0 ? ended - firstAt : ended - started;
  const price = benchPriceOf(options.prices, model.name, answeredBy);
  return {
    task: task.id,
    answered: true,
    passed: verdict ? verdict.passed : null,
    ...(verdict?.reason ? { reason: verdict.reason } : {}),
    latencyMs: ended - started,
    ttftMs: firstAt === undefined ? null : firstAt - started,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    tokensPerSecond: generationMs > 0 && usage.outputTokens > 0 ? usage.outputTokens / (generationMs / 1000) : null,
    costUsd: price ? benchCostUsd(price, usage.inputTokens, usage.outputTokens) : null,
    ...(answeredBy ? { model: answeredBy } : {}),
    answer: answer.slice(0, 500),
    toolCalls: toolCalls.map((call) => ({ name: call.name, arguments: call.arguments })),
    generationMs,
  };
}
