import { type ChatModel, describeError, type ToolDefinition, UnityError } from '@unity/core';
import type { Check, CheckOutcome } from './check';

export interface DeepCheckOptions {
  /** The model string as configured (`ollama_chat/qwen2.5-coder:7b`), used in the id and messages. */
  label: string;
  /** A chat model that targets exactly this model, without fallback. */
  model: ChatModel;
  /** Bound on the whole check (default 120 000 ms: a cold local model load takes time). */
  timeoutMs?: number;
  /** Ids of checks that must pass first (e.g. the model is pulled). */
  dependsOn?: readonly string[];
}

export interface LatencyCheckOptions extends DeepCheckOptions {
  /** A first token later than this warns (default 5000 ms). */
  thresholdMs?: number;
  /** Whether the cloud is on already (the fix differs). */
  cloudEnabled: boolean;
  configFile?: string;
  /** Clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

/** Run `ask` with a timeout that aborts it; an error becomes a failed outcome that keeps a UnityError's fix. */
async function guarded(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  ask: (signal: AbortSignal) => Promise<CheckOutcome>,
): Promise<CheckOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    return await ask(combined);
  } catch (error) {
    if (signal?.aborted) throw error;
    const message = timeout.aborted ? `no answer within ${timeoutMs} ms (timeoutMs)` : describeError(error);
    return {
      status: 'fail',
      message: `the model did not answer: ${message}`,
      ...(UnityError.isInstance(error) && error.fix ? { fix: error.fix } : {}),
    };
  }
}

/**
 * Time to the first token, measured as a one-token completion (the seed's "model too slow": enable the cloud).
 * Costs one model call.
 */
export function firstTokenLatencyCheck(options: LatencyCheckOptions): Check {
  const threshold = options.thresholdMs ?? 5000;
  const now = options.now ?? (() => performance.now());
  return {
    id: `latency:${options.label}`,
    title: `First-token latency of ${options.label}`,
    required: false,
    dependsOn: options.dependsOn ?? [],
    run: (signal) =>
      guarded(options.timeoutMs ?? 120_000, signal, async (combined) => {
        const started = now();
        await options.model.chat({
          messages: [{ role: 'user', content: 'Reply with the single word: ok' }],
          maxOutputTokens: 1,
          temperature: 0,
          signal: combined,
        });
        const ms = Math.round(now() - started);
        const seconds = (ms / 1000).toFixed(1);
        if (ms <= threshold) {
          return { status: 'ok', message: `first token after ${seconds} s`, data: { firstTokenMs: ms } };
        }
        return {
          status: 'warn',
          message: `first token after ${seconds} s, over the ${(threshold / 1000).toFixed(1)} s threshold`,
          fix: options.cloudEnabled
            ? 'the cloud answers first already: keep its key valid so the slow local model is only the fallback'
            : `enable the cloud: set cloud_llm.enabled: true${options.configFile ? ` in ${options.configFile}` : ''}`,
          data: { firstTokenMs: ms },
        };
      }),
  };
}

const addTool: ToolDefinition = {
  name: 'add',
  description: 'Add two numbers and return their sum.',
  parameters: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
  },
};

/**
 * One real tool-call round trip (the seed's "tool calling not working"): the model must call `add(17, 25)`, then
 * answer once it has the result. Costs two model calls.
 */
export function toolCallCheck(options: DeepCheckOptions & { fix?: string }): Check {
  const fix =
    options.fix ?? 'use a model with tool support (for Ollama: `ollama show <model>` lists "tools"), under models:';
  return {
    id: `tool-call:${options.label}`,
    title: `Tool calling with ${options.label}`,
    required: false,
    dependsOn: options.dependsOn ?? [],
    run: (signal) =>
      guarded(options.timeoutMs ?? 120_000, signal, async (combined) => {
        const question = { role: 'user' as const, content: 'What is 17 + 25? Use the add tool to compute it.' };
        const first = await options.model.chat({
          messages: [question],
          tools: [addTool],
          temperature: 0,
          signal: combined,
        });
        const call = first.toolCalls.find((c) => c.name === 'add');
        if (!call) {
          const said = first.content.trim().slice(0, 80);
          return {
            status: 'fail',
            message: `no tool call: the model answered ${said ? `"${said}"` : 'nothing'} instead of calling add`,
            fix,
          };
        }
        const { a, b } = call.arguments;
        if (typeof a !== 'number' || typeof b !== 'number') {
          return {
            status: 'fail',
            message: `called add with arguments that are not two numbers: ${call.rawArguments}`,
            fix,
          };
        }
        const second = await options.model.chat({
          messages: [
            question,
            {
              role: 'assistant',
              content: first.content,
              toolCalls: [call],
              ...(first.reasoning ? { reasoning: first.reasoning } : {}),
            },
            { role: 'tool', toolCallId: call.id, toolName: 'add', content: String(a + b) },
          ],
          tools: [addTool],
          temperature: 0,
          signal: combined,
        });
        if (second.content.trim() === '' && second.toolCalls.length === 0) {
          return { status: 'fail', message: 'called add, but gave no answer after receiving the result', fix };
        }
        return { status: 'ok', message: `called add(${a}, ${b}) and answered with the result` };
      }),
  };
}
