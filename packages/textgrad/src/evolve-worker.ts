import { describeError } from '@unity/core';
import { z } from 'zod';
import { commandEvaluator } from './command-evaluator';
import { EvolutionError } from './errors';
import type { Evaluator, EvaluatorSpec } from './evaluator';
import { connectionFromUrl, defaultQueueName, loadBullmq, type RedisQueueOptions, readyWithin } from './redis-queue';
import type { JobData, JobResult } from './remote-evaluator';
import type { SandboxOptions } from './sandbox';
import { testCommandEvaluator } from './test-evaluator';

export interface EvolveWorkerOptions extends RedisQueueOptions {
  /** Jobs run at once by this worker. Default 1. */
  concurrency?: number;
  /** Sandbox settings on this machine (environment, user, temp folder). The timeout comes from each job's spec. */
  sandbox?: Omit<SandboxOptions, 'timeoutMs' | 'maxOutputBytes'>;
  /** A job whose worker stops renewing its lock for this long is stalled and goes to another worker. Default 30 000. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default: half of lockDurationMs. */
  stalledIntervalMs?: number;
  /** How many times a job may stall before it fails. Default 3. */
  maxStalledCount?: number;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'ready'; queue: string }
  | { type: 'job-start'; jobId: string; candidateId: string; attempt: number }
  | { type: 'job-done'; jobId: string; candidateId: string; score: number | null; error?: string }
  | { type: 'error'; message: string };

export interface EvolveWorker {
  /** Finish running jobs (or not, with `force`) and disconnect. */
  close(force?: boolean): Promise<void>;
}

const specSchema = z.object({
  kind: z.enum(['command', 'test']),
  command: z.string().min(1),
  files: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().positive().optional(),
  maxOutputBytes: z.number().positive().optional(),
});
const jobDataSchema = z.object({
  runId: z.string(),
  candidateId: z.string(),
  fileName: z.string().min(1),
  source: z.string(),
  spec: specSchema,
});

/** Build the evaluator a spec describes, with this machine's sandbox settings. */
export function evaluatorFromSpec(spec: EvaluatorSpec, sandbox: EvolveWorkerOptions['sandbox'] = {}): Evaluator {
  const options = { ...sandbox, ...spec };
  return spec.kind === 'test' ? testCommandEvaluator(options) : commandEvaluator(options);
}

/**
 * Run queued evaluations (from `evolve` with a remote evaluator) until closed. Evaluator failures are returned as
 * results (the candidate failed), so BullMQ retries only jobs whose worker died: those stall and move to another.
 */
export async function startEvolveWorker(options: EvolveWorkerOptions): Promise<EvolveWorker> {
  const { Worker } = await loadBullmq();
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const connection = connectionFromUrl(options.url, connectTimeoutMs);
  const name = options.queue ?? defaultQueueName;
  const emit = options.onEvent ?? (() => {});
  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker<JobData, JobResult>(
    name,
    async (job, _token, signal) => {
      const data = jobDataSchema.safeParse(job.data);
      if (!data.success) {
        const issue = data.error.issues[0];
        throw new EvolutionError({
          code: 'QUEUE_FAILED',
          message: `job ${job.id}: data.${issue?.path.join('.')}: ${issue?.message}`,
          fix: 'run workers of the same version as the orchestrator',
        });
      }
      const { candidateId, fileName, source, spec } = data.data;
      emit({ type: 'job-start', jobId: String(job.id), candidateId, attempt: job.attemptsStarted });
      try {
        const evaluation = await evaluatorFromSpec(spec, options.sandbox).evaluate(source, {
          candidateId,
          fileName,
          ...(signal ? { signal } : {}),
        });
        emit({ type: 'job-done', jobId: String(job.id), candidateId, score: evaluation.score });
        return { ok: true, ...evaluation };
      } catch (error) {
        const message = describeError(error);
        emit({ type: 'job-done', jobId: String(job.id), candidateId, score: null, error: message });
        return { ok: false, code: EvolutionError.isInstance(error) ? error.code : 'EVALUATION_FAILED', message };
      }
    },
    {
      connection,
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: options.stalledIntervalMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
      maxStalledCount: options.maxStalledCount ?? 3,
      autorun: true,
    },
  );
  let lastError: Error | undefined;
  worker.on('error', (error) => {
    lastError = error;
    emit({ type: 'error', message: describeError(error) });
  });
  try {
    await readyWithin(worker.waitUntilReady(), options.url, connectTimeoutMs);
  } catch (error) {
    await worker.close(true).catch(() => {});
    if (EvolutionError.isInstance(error) && lastError) error.message += ` (${lastError.message})`;
    throw error;
  }
  emit({ type: 'ready', queue: name });
  return { close: (force = false) => worker.close(force) };
}
