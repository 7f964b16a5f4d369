import type { FinishReason, ToolCall, Usage } from '@unity/core';
import type { AgentResult } from './agent-result';
import type { ConvergenceThreshold } from './convergence-warnings';
import type { StuckPattern } from './stuck-detector';
import type { AgentToolResult } from './tool-executor';

interface Step {
  /** The model call this event belongs to (1-based). */
  iteration: number;
  /** Milliseconds since the run started. */
  elapsedMs: number;
}

/** One step of a run, for progress displays, logs and streams. */
export type AgentEvent =
  | (Step & {
      type: 'model-call';
      /** Messages sent. */
      messages: number;
      /** Tools offered (0 on the final call at the limit). */
      tools: number;
    })
  | (Step & {
      type: 'model-response';
      content: string;
      reasoning?: string;
      toolCalls: ToolCall[];
      usage: Usage;
      model: string;
      /** The provider that answered, when the model reports one (the router does). */
      provider?: string;
      finishReason: FinishReason;
      ms: number;
    })
  | (Step & { type: 'tool-call'; call: ToolCall })
  | (Step & { type: 'tool-result'; call: ToolCall; result: AgentToolResult })
  | (Step & { type: 'reminder'; threshold: ConvergenceThreshold; toolCalls: number; message: string })
  | (Step & { type: 'final-request'; toolCalls: number; message: string })
  | (Step & { type: 'nudge'; pattern: StuckPattern; message: string })
  | (Step & {
      type: 'compacted';
      /** Estimated prompt tokens (`estimateTokens`, tool definitions included) before and after. */
      tokensBefore: number;
      tokensAfter: number;
      /** The budget that was passed. */
      maxPromptTokens: number;
      /** Messages elided: tool results stubbed plus messages dropped into the compaction note. */
      elidedMessages: number;
      stubbed: number;
      dropped: number;
    })
  | (Step & { type: 'stop'; result: Omit<AgentResult, 'messages'> });

export type AgentEventType = AgentEvent['type'];

/** Receives every event of a run, in order. It runs inline: keep it quick. What it throws is ignored. */
export type AgentListener = (event: AgentEvent) => void;
