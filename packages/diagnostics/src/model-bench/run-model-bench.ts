import type { BenchModel } from './bench-model';
import type { BenchPrices } from './bench-prices';
import type { BenchTask } from './bench-task';
import { type BenchTaskResult, measureTask } from './measure-task';

/** One model's figures over the task set. */
export interface ModelBenchSummary {
  model: string;
  tasks: number;
  /** Tasks the model failed to answer (an error, a timeout). */
  errors: number;
  /** The first error, for the table's notes. */
  firstError?: string;
  /** Tasks with a check, and those that passed it. */
  checked: number;
  passed: number;
  /** passed ÷ checked, 0–1; null when no task has a check. */
  passRate: number | null;
  /** Medians over the answered tasks; null when none was answered. */
  latencyMs: number | null;
  ttftMs: number | null;
  /** All output tokens ÷ all generation seconds of the answered tasks. */
  tokensPerSecond: number | null;
  inputTokens: number;
  outputTokens: number;
  /** US dollars under the prices; null when no price applies to this model. */
  costUsd: number | null;
  results: BenchTaskResult[];
}

export interface ModelBenchResult {
  /** ISO time the bench began. */
  startedAt: string;
  tasks: { id: string; category?: string; checked: boolean }[];
  models: ModelBenchSummary[];
}

/** Progress: each task's result as it comes. */
export interface ModelBenchEvent {
  type: 'task';
  model: string;
  /** 1-based, over all models' tasks. */
  index: number;
  total: number;
  result: BenchTaskResult;
}

export interface ModelBenchOptions {
  models: readonly BenchModel[];
  tasks: readonly BenchTask[];
  /**
   * US dollars per million tokens (`{ input_per_mtok, output_per_mtok }`, as `server.prices` writes them) by model
   * string, by the model name answers give, or `*`; `benchPrices` gathers them from the config.
   */
  prices?: BenchPrices;
  /** Bound on each task, in ms (default 120 000: a cold local model loads first). */
  timeoutMs?: number;
  /** Stops the bench: the promise rejects with the abort's reason. */
  signal?: AbortSignal;
  onEvent?: (event: ModelBenchEvent) => void;
  /** Clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** A model's figures from its tasks' results. */
function summarizeModel(model: string, results: BenchTaskResult[]): ModelBenchSummary {
  const answered = results.filter((r) => r.answered);
  const checked = results.filter((r) => r.passed !== null);
  const passed = checked.filter((r) => r.passed === true).length;
  const generationMs = answered.reduce((sum, r) => sum + r.generationMs, 0);
  const outputTokens = answered.reduce((sum, r) => sum + r.outputTokens, 0);
  const priced = answered.filter((r) => r.costUsd !== null);
  const firstError = results.find((r) => r.error)?.error;
  return {
    model,
    tasks: results.length,
    errors: results.length - answered.length,
    ...(firstError ? { firstError } : {}),
    checked: checked.length,
    passed,
    passRate: checked.length > 0 ? passed / checked.length : null,
    latencyMs: median(answered.map((r) => r.latencyMs)),
    ttftMs: median(answered.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs]))),
    tokensPerSecond: generationMs > 0 && outputTokens > 0 ? outputTokens / (generationMs / 1000) : null,
    inputTokens: answered.reduce((sum, r) => sum + r.inputTokens, 0),
    outputTokens,
    costUsd: priced.length > 0 ? priced.reduce((sum, r) => sum + (r.costUsd ?? 0), 0) : null,
    results,
  };
}

/**
 * Run the same tasks against each model, one request at a time (models in order, tasks in order, so that timings do
 * not compete), streamed at temperature 0: latency, time to first token, tokens per second, the pass rate of the tasks
 * that carry a check, and cost under `prices`. A model that fails a task (unreachable, unknown, too slow) is recorded
 * with the error and the bench goes on.
 */
export async function runModelBench(options: ModelBenchOptions): Promise<ModelBenchResult> {
  const now = options.now ?? (() => performance.now());
  const timeoutMs = options.timeoutMs ?? 120_000;
  const startedAt = new Date().toISOString();
  const total = options.models.length * options.tasks.length;
  let index = 0;
  const models: ModelBenchSummary[] = [];
  for (const model of options.models) {
    const results: BenchTaskResult[] = [];
    for (const task of options.tasks) {
      options.signal?.throwIfAborted();
      const result = await measureTask(model, task, {
        timeoutMs,
        now,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.prices ? { prices: options.prices } : {}),
      });
      results.push(result);
      index += 1;
      try {
        options.onEvent?.({ type: 'task', model: model.name, index, total, result });
      } catch {
        // A failing listener does not stop the bench.
      }
    }
    models.push(summarizeModel(model.name, results));
  }
  return {
    startedAt,
    tasks: options.tasks.map((task) => ({
      id: task.id,
      ...(task.category ? { category: task.category } : {}),
      checked: task.check !== undefined,
    })),
    models,
  };
}
