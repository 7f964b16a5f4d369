import type { AgentEvent } from '@unity/convergence';
import { type AgentRunEvent, clipText, maxRunNameLength, type Unstamped } from './run-events';

const name = (value: string) => clipText(value, maxRunNameLength);

/**
 * What a run report says of one agent-loop event: a step per model answer, each tool call (arguments clipped) and
 * its outcome (ok or the error, never the output), reminders, nudges, compactions, the final request and the stop.
 * `model-call` adds nothing the step does not say: undefined.
 */
export function agentRunEvent(event: AgentEvent): Unstamped<AgentRunEvent> | undefined {
  const { iteration } = event;
  switch (event.type) {
    case 'model-call':
      return undefined;
    case 'model-response':
      return {
        type: 'step',
        iteration,
        model: name(event.model),
        ...(event.provider === undefined ? {} : { provider: name(event.provider) }),
        finishReason: name(event.finishReason),
        toolCalls: event.toolCalls.slice(0, 64).map((call) => name(call.name)),
        inputTokens: event.usage.inputTokens,
        outputTokens: event.usage.outputTokens,
        ms: Math.max(0, event.ms),
      };
    case 'tool-call':
      return {
        type: 'tool-call',
        iteration,
        id: name(event.call.id),
        name: name(event.call.name),
        arguments: clipText(event.call.rawArguments || JSON.stringify(event.call.arguments ?? {})),
      };
    case 'tool-result':
      return {
        type: 'tool-result',
        iteration,
        id: name(event.call.id),
        name: name(event.call.name),
        ok: event.result.ok,
        ...(event.result.ok ? {} : { error: clipText(event.result.error?.message ?? event.result.content) }),
      };
    case 'reminder':
      return {
        type: 'reminder',
        iteration,
        level: name(event.threshold.level),
        toolCalls: event.toolCalls,
        message: clipText(event.message),
      };
    case 'final-request':
      return { type: 'final-request', iteration, toolCalls: event.toolCalls };
    case 'nudge':
      return {
        type: 'nudge',
        iteration,
        pattern: name(event.pattern.kind),
        message: clipText(event.pattern.description),
      };
    case 'compacted':
      return {
        type: 'compacted',
        iteration,
        tokensBefore: event.tokensBefore,
        tokensAfter: event.tokensAfter,
        elidedMessages: event.elidedMessages,
      };
    case 'stop': {
      const { result } = event;
      return {
        type: 'stop',
        stopReason: name(result.stopReason),
        iterations: result.iterations,
        toolCalls: Object.values(result.toolCalls).reduce((sum, n) => sum + n, 0),
        totalTokens: result.usage.totalTokens,
        costUsd: Math.max(0, result.costUsd),
        ...(result.error ? { error: clipText(result.error.message) } : {}),
      };
    }
    default:
      return undefined;
  }
}
