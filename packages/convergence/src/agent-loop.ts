import {
  type AssistantMessage,
  addUsage,
  BudgetTracker,
  type ChatMessage,
  type ChatResponse,
  describeError,
  emptyUsage,
  raceAbort,
  type ToolCall,
  UnityError,
} from '@unity/core';
import { countToolOutcomes, summariseActivity } from './activity-summary';
import type { AgentEvent } from './agent-events';
import { type AgentOptions, validateAgentOptions } from './agent-options';
import type { AgentResult, StopReason } from './agent-result';
import { type CallRecord, toCallRecord } from './call-record';
import { ContextCompactor, defaultKeepRecentMessages, promptTokenBudget } from './context-compaction';
import { convergenceSchedule, defaultConvergenceWarnings, thresholdsCrossed } from './convergence-warnings';
import { finalAnswerRequest, nudgeMessage, reminderMessage } from './reminders';
import { StuckDetector, type StuckPattern } from './stuck-detector';
import type { AgentToolResult } from './tool-executor';

export const defaultMaxIterations = 1000;

/** Results in the order of the calls; a call the executor returned nothing for becomes a failed result. */
function resultsInOrder(calls: ToolCall[], results: AgentToolResult[]): AgentToolResult[] {
  const byId = new Map(results.map((r) => [r.toolCallId, r]));
  return calls.map(
    (call) =>
      byId.get(call.id) ?? {
        toolCallId: call.id,
        name: call.name,
        ok: false,
        content: `${call.name}: the tool executor returned no result for this call`,
        error: { code: 'NO_RESULT', message: 'the tool executor returned no result for this call' },
      },
  );
}

/**
 * Run a task to an end: model → tool calls → results (each answering its call id) → model …, until the model answers
 * without tool calls or a limit stops it. Reminders of rising firmness are injected as the call count crosses the
 * convergence thresholds; repetition gets a targeted nudge, then a `stuck` stop; at the hard limit the model is asked
 * once, without tools, for its final answer. Never throws for a run that went wrong: the result's `stopReason` and
 * `error` say what happened. Throws `ConvergenceError` only for options it cannot run with.
 */
export async function runAgent(options: AgentOptions): Promise<AgentResult> {
  validateAgentOptions(options);
  const started = performance.now();
  const maxIterations = options.maxIterations ?? defaultMaxIterations;
  const schedule = convergenceSchedule(options.convergenceWarnings ?? defaultConvergenceWarnings, maxIterations);
  const detector = options.stuck === false ? undefined : new StuckDetector(options.stuck);
  const summaryOptions = { window: options.activityWindow ?? 30, writeTools: options.writeTools ?? ['write_file'] };
  const definitions = options.tools.definitions();

  const taskMessage: ChatMessage = { role: 'user', content: options.task };
  const messages: ChatMessage[] = [
    ...(options.system ? [{ role: 'system' as const, content: options.system }] : []),
    ...(options.history ?? []),
    taskMessage,
  ];
  // What is sent: the whole conversation (`messages`, the result's) with old parts compacted, unless that is off.
  let context: ChatMessage[] = [...messages];
  const remember = (message: ChatMessage) => {
    messages.push(message);
    context.push(message);
  };
  const compactor =
    options.context === false
      ? undefined
      : new ContextCompactor({
          maxPromptTokens: promptTokenBudget(options.context, options.request?.maxOutputTokens),
          keepRecentMessages: options.context?.keepRecentMessages ?? defaultKeepRecentMessages,
        });
  const records: CallRecord[] = [];
  const toolCalls: Record<string, number> = {};
  const nudged = new Set<string>();
  let iterations = 0;
  let callCount = 0;
  let usage = emptyUsage();
  const spending = new BudgetTracker(options.budget);
  let lastText = '';

  const timeBudget = new AbortController();
  const timer =
    options.budget?.maxWallTimeMs === undefined
      ? undefined
      : setTimeout(
          () =>
            timeBudget.abort(
              new Error(`the run's time budget (budget.maxWallTimeMs: ${options.budget?.maxWallTimeMs} ms) is spent`),
            ),
          options.budget.maxWallTimeMs,
        );
  const signal = options.signal ? AbortSignal.any([options.signal, timeBudget.signal]) : timeBudget.signal;

  const elapsed = () => Math.round(performance.now() - started);
  const emit = (event: AgentEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure is the app's, not the run's.
    }
  };
  const step = () => ({ iteration: iterations, elapsedMs: elapsed() });
  const abortReason = (): StopReason => (options.signal?.aborted ? 'aborted' : 'budget_time');

  const finish = (
    stopReason: StopReason,
    extra: { answer?: string; stuck?: StuckPattern; error?: AgentResult['error'] } = {},
  ): AgentResult => {
    clearTimeout(timer);
    const result: AgentResult = {
      answer: extra.answer ?? lastText,
      stopReason,
      iterations,
      toolCalls,
      toolOutcomes: countToolOutcomes(records),
      usage,
      costUsd: spending.spent().costUsd,
      elapsedMs: elapsed(),
      messages,
    };
    if (extra.stuck) result.stuck = extra.stuck;
    if (extra.error) result.error = extra.error;
    const { messages: _omitted, ...summary } = result;
    emit({ type: 'stop', ...step(), result: summary });
    return result;
  };

  const facts = () => ({
    toolCalls: callCount,
    iterations,
    maxIterations,
    activity: summariseActivity(records, summaryOptions),
  });

  try {
    for (;;) {
      if (signal.aborted) return finish(abortReason());
      iterations++;
      const final = iterations === maxIterations;
      if (final && iterations > 1) {
        const message = finalAnswerRequest(facts());
        remember({ role: 'user', content: message });
        emit({ type: 'final-request', ...step(), toolCalls: callCount, message });
      }
      const offered = final ? [] : definitions;
      const compaction = compactor?.compact(context, { tools: offered, task: taskMessage });
      if (compactor && compaction) {
        context = compaction.messages;
        if (compaction.stubbed + compaction.dropped > 0) {
          emit({
            type: 'compacted',
            ...step(),
            tokensBefore: compaction.tokensBefore,
            tokensAfter: compaction.tokensAfter,
            maxPromptTokens: compactor.maxPromptTokens,
            elidedMessages: compaction.stubbed + compaction.dropped,
            stubbed: compaction.stubbed,
            dropped: compaction.dropped,
          });
        }
      }
      emit({ type: 'model-call', ...step(), messages: context.length, tools: offered.length });
      const callStarted = performance.now();
      const response: ChatResponse = await raceAbort(
        options.model.chat({
          ...options.request,
          messages: [...context],
          ...(offered.length > 0 ? { tools: offered } : {}),
          signal,
        }),
        signal,
      );
      usage = addUsage(usage, response.usage);
      spending.addUsage(response.usage, response.model);
      const provider = (response as { provider?: unknown }).provider;
      emit({
        type: 'model-response',
        ...step(),
        content: response.content,
        ...(response.reasoning ? { reasoning: response.reasoning } : {}),
        toolCalls: response.toolCalls,
        usage: response.usage,
        model: response.model,
        ...(typeof provider === 'string' ? { provider } : {}),
        finishReason: response.finishReason,
        ms: Math.round(performance.now() - callStarted),
      });

      const calls = final ? [] : response.toolCalls;
      const assistant: AssistantMessage = { role: 'assistant', content: response.content };
      if (calls.length > 0) assistant.toolCalls = calls;
      if (response.reasoning) assistant.reasoning = response.reasoning;
      const empty = calls.length === 0 && response.content.trim() === '';

      if (final) {
        remember(assistant);
        return finish(iterations > 1 ? 'max_iterations' : 'completed', { answer: response.content || lastText });
      }
      if (calls.length === 0 && !empty) {
        remember(assistant);
        return finish('completed', { answer: response.content });
      }
      if (response.content.trim() !== '') lastText = response.content;
      const spent = spending.limitReached();

      if (empty) {
        // An empty reply is not an answer and is not kept in the history: the model is asked again.
        const pattern = detector?.recordReply(true);
        if (pattern && nudged.has(pattern.key)) return finish('stuck', { stuck: pattern });
        if (spent) return finish(spent);
        if (pattern) {
          const message = nudgeMessage(pattern);
          nudged.add(pattern.key);
          remember({ role: 'user', content: message });
          emit({ type: 'nudge', ...step(), pattern, message });
        }
        continue;
      }
      detector?.recordReply(false);
      remember(assistant);
      if (spent) return finish(spent);

      for (const call of calls) emit({ type: 'tool-call', ...step(), call });
      const results = resultsInOrder(calls, await raceAbort(options.tools.execute(calls, { signal }), signal));
      const patterns: StuckPattern[] = [];
      calls.forEach((call, i) => {
        const result = results[i] as AgentToolResult;
        const content = result.ok || result.content !== '' ? result.content : (result.error?.message ?? 'failed');
        remember({ role: 'tool', content, toolCallId: call.id, toolName: call.name });
        toolCalls[call.name] = (toolCalls[call.name] ?? 0) + 1;
        const record = toCallRecord(call, result, options.root);
        records.push(record);
        emit({ type: 'tool-result', ...step(), call, result });
        const pattern = detector?.recordCall(record);
        if (pattern) patterns.push(pattern);
      });
      const before = callCount;
      callCount += calls.length;
      if (signal.aborted) return finish(abortReason());

      const continued = patterns.find((p) => nudged.has(p.key));
      if (continued) return finish('stuck', { stuck: continued });
      const notes: string[] = [];
      const fresh = patterns.find((p) => !nudged.has(p.key));
      if (fresh) {
        const message = nudgeMessage(fresh);
        nudged.add(fresh.key);
        notes.push(message);
        emit({ type: 'nudge', ...step(), pattern: fresh, message });
      }
      const crossed = thresholdsCrossed(schedule, before, callCount).at(-1);
      if (crossed) {
        const message = reminderMessage({ threshold: crossed, ...facts() });
        notes.push(message);
        emit({ type: 'reminder', ...step(), threshold: crossed, toolCalls: callCount, message });
      }
      // One user message after the tool results: some chat templates reject two user turns in a row.
      if (notes.length > 0) remember({ role: 'user', content: notes.join('\n\n') });
    }
  } catch (error) {
    if (signal.aborted) return finish(abortReason());
    const code = UnityError.isInstance(error) ? error.code : 'UNEXPECTED';
    return finish('error', { error: { code, message: describeError(error) } });
  }
}
