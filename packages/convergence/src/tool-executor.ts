import type { ToolCall, ToolDefinition } from '@unity/core';

/** One call's outcome as the loop needs it (the shape `@unity/tools`' executor returns). */
export interface AgentToolResult {
  toolCallId: string;
  name: string;
  ok: boolean;
  /** What the model reads: the output, or for a failure a message it can correct itself from. */
  content: string;
  error?: { code: string; message: string };
}

/**
 * What the loop needs of a tool executor: the tools to offer, and a way to run a turn's calls. `@unity/tools`'
 * `createToolExecutor()` satisfies it; so can any host's own tools. `execute` returns one result per call, in any
 * order (matched by `toolCallId`), and reports a model's bad call as a failed result rather than throwing.
 */
export interface AgentToolExecutor {
  definitions(): ToolDefinition[];
  execute(calls: ToolCall[], options: { signal?: AbortSignal }): Promise<AgentToolResult[]>;
}
