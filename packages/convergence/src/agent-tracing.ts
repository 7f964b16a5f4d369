import { type Context, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { ChatModel } from '@unity/core';
import type { AgentEvent } from './agent-events';
import { runAgent } from './agent-loop';
import type { AgentOptions } from './agent-options';
import type { AgentResult } from './agent-result';
import type { AgentToolExecutor } from './tool-executor';

export interface AgentTracing {
  /** The tracer (`startTracing(...)?.tracer`); undefined: the run is not traced and costs nothing extra. */
  tracer: Tracer | undefined;
  /** `gen_ai.agent.name` (a domain preset's name). Default `unity`. */
  agentName?: string;
}

/**
 * `runAgent` with OpenTelemetry spans: `invoke_agent {name}` for the run (GenAI attributes: `gen_ai.operation.name`,
 * `gen_ai.agent.name`, the run's `gen_ai.usage.*`; `unity.agent.stop_reason`, `unity.agent.iterations`), under it one
 * `agent.step` span per model call (`unity.agent.iteration`), and under each step an `execute_tool {name}` span per
 * tool call (`gen_ai.tool.name`, `gen_ai.tool.call.id`, `error.type` when it failed). The model call and the tool
 * execution run inside their step's context, so a traced router's request span is the step's child.
 *
 * Built on the loop's events: a turn's calls are executed as one batch, so each tool span lasts as long as the batch.
 * Without a tracer it is `runAgent(options)` itself.
 */
export function runTracedAgent(options: AgentOptions, tracing: AgentTracing): Promise<AgentResult> {
  const { tracer } = tracing;
  if (!tracer) return runAgent(options);
  const name = tracing.agentName ?? 'unity';
  const attributes = { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name };
  return tracer.startActiveSpan(`invoke_agent ${name}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    const steps = new StepSpans(tracer, context.active());
    try {
      const result = await runAgent({
        ...options,
        model: steps.model(options.model),
        tools: steps.tools(options.tools),
        onEvent: (event) => {
          steps.observe(event);
          options.onEvent?.(event);
        },
      });
      span.setAttributes({
        'gen_ai.usage.input_tokens': result.usage.inputTokens,
        'gen_ai.usage.output_tokens': result.usage.outputTokens,
        'unity.agent.stop_reason': result.stopReason,
        'unity.agent.iterations': result.iterations,
        'unity.agent.tool_calls': Object.values(result.toolCalls).reduce((a, b) => a + b, 0),
      });
      if (result.error) markFailed(span, result.error.code, result.error.message);
      return result;
    } catch (error) {
      // Only options the loop cannot run with throw.
      recordError(span, error, 'UNEXPECTED');
      throw error;
    } finally {
      steps.close();
      span.end();
    }
  });
}

/** Mark a span failed as OpenTelemetry's conventions ask: `error.type` (a Unity code) and an ERROR status. */
function markFailed(span: Span, type: string, message: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** `markFailed` for a thrown value: its `code` (else `fallbackType`) and its message (or the value itself). */
function recordError(span: Span, error: unknown, fallbackType: string): void {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  markFailed(
    span,
    typeof code === 'string' ? code : fallbackType,
    typeof message === 'string' ? message : String(error),
  );
}

/** The step spans and tool spans of one run, opened and closed by its events. */
class StepSpans {
  private step: { iteration: number; span: Span; context: Context } | undefined;
  private readonly toolSpans = new Map<string, Span>();

  constructor(
    private readonly tracer: Tracer,
    /** The run's context (its `invoke_agent` span): every step's parent. */
    private readonly run: Context,
  ) {}

  /** The model, called inside the current step's context. */
  model(model: ChatModel): ChatModel {
    return { chat: (request) => context.with(this.context(), () => model.chat(request)) };
  }

  /** The tools, executed inside the current step's context. */
  tools(tools: AgentToolExecutor): AgentToolExecutor {
    return {
      definitions: () => tools.definitions(),
      execute: (calls, options) => context.with(this.context(), () => tools.execute(calls, options)),
    };
  }

  observe(event: AgentEvent): void {
    try {
      this.handle(event);
    } catch {
      // Tracing never changes a run.
    }
  }

  close(): void {
    for (const span of this.toolSpans.values()) span.end();
    this.toolSpans.clear();
    this.step?.span.end();
    this.step = undefined;
  }

  private context(): Context {
    return this.step?.context ?? this.run;
  }

  private handle(event: AgentEvent): void {
    if (event.type === 'stop') {
      this.close();
      return;
    }
    if (this.step?.iteration !== event.iteration) this.startStep(event.iteration);
    const step = this.step?.span as Span;
    switch (event.type) {
      case 'model-call':
        step.setAttributes({ 'unity.agent.messages': event.messages, 'unity.agent.tools_offered': event.tools });
        break;
      case 'model-response':
        step.setAttributes({
          'unity.agent.model': event.model,
          ...(event.provider ? { 'unity.agent.provider': event.provider } : {}),
          'unity.agent.finish_reason': event.finishReason,
          'unity.agent.tool_calls': event.toolCalls.length,
        });
        break;
      case 'tool-call':
        this.toolSpans.set(
          event.call.id,
          this.tracer.startSpan(
            `execute_tool ${event.call.name}`,
            {
              kind: SpanKind.INTERNAL,
              attributes: {
                'gen_ai.operation.name': 'execute_tool',
                'gen_ai.tool.name': event.call.name,
                'gen_ai.tool.call.id': event.call.id,
                'gen_ai.tool.type': 'function',
              },
            },
            this.context(),
          ),
        );
        break;
      case 'tool-result': {
        const span = this.toolSpans.get(event.call.id);
        if (!span) break;
        this.toolSpans.delete(event.call.id);
        if (!event.result.ok) {
          markFailed(
            span,
            event.result.error?.code ?? 'TOOL_FAILED',
            event.result.error?.message ?? event.result.content,
          );
        }
        span.end();
        break;
      }
      case 'reminder':
        step.setAttribute('unity.agent.reminder', event.threshold.level);
        break;
      case 'nudge':
        step.setAttribute('unity.agent.nudge', event.pattern.kind);
        break;
      case 'final-request':
        step.setAttribute('unity.agent.final_request', true);
        break;
      case 'compacted':
        step.setAttributes({
          'unity.agent.compacted.tokens_before': event.tokensBefore,
          'unity.agent.compacted.tokens_after': event.tokensAfter,
        });
        break;
    }
  }

  private startStep(iteration: number): void {
    this.close();
    const span = this.tracer.startSpan(
      'agent.step',
      { kind: SpanKind.INTERNAL, attributes: { 'unity.agent.iteration': iteration } },
      this.run,
    );
    this.step = { iteration, span, context: trace.setSpan(this.run, span) };
  }
}
