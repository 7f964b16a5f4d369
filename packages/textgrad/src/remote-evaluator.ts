import { raceAbort } from '@unity/core';
import { z } from 'zod';
import { EvolutionError } from './errors';
import type { Evaluation, Evaluator, EvaluatorSpec } from './evaluator';
import {
  connectionFromUrl,
  defaultQueueName,
  loadBullmq,
  type RedisQueueOptions,
  readyWithin,
  redact,
} from './redis-queue';

export interface RemoteEvaluatorOptions extends RedisQueueOptions {
  /**
   * Names this run's jobs (`<runId>-<candidateId>`): a candidate is queued at most once per run, and a resumed run
   * picks up results its predecessor's workers finished. Letters, digits, `.`, `_` and `-`.
   */
  runId: string;
  /** Give up on one evaluation after this long. Default 30 minutes. */
  jobTimeoutMs?: number;
}

/** What a worker returns for a job: the evaluation, or the evaluator's error (a failed candidate, not a failed job). */
export const jobResultSchema = z.union([
  z.object({
    ok: z.literal(true),
    score: z.number().min(0).max(100),
    feedback: z.string().optional(),
    tokens: z.number().optional(),
    costUsd: z.number().optional(),
  }),
  z.object({ ok: z.literal(false), code: z.string(), message: z.string() }),
]);
export type JobResult = z.infer<typeof jobResultSchema>;

export interface JobData {
  runId: string;
  candidateId: string;
  fileName: string;
  source: string;
  spec: EvaluatorSpec;
}

export interface RemoteEvaluator extends Evaluator {
  close(): Promise<void>;
}

/**
 * An evaluator that queues each evaluation on BullMQ for `evolve-worker` processes to run (any number, any machine).
 * A worker that dies mid-job leaves a stalled job that another worker takes over; the job id is derived from the
 * candidate id, so a candidate is evaluated and counted once.
 */
export async function createRemoteEvaluator(
  spec: EvaluatorSpec,
  options: RemoteEvaluatorOptions,
): Promise<RemoteEvaluator> {
  if (!/^[\w.-]+$/.test(options.runId)) {
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message: `remote evaluator runId "${options.runId}": use letters, digits, ".", "_" and "-" only`,
    });
  }
  const { Queue, QueueEvents } = await loadBullmq();
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const connection = connectionFromUrl(options.url, connectTimeoutMs);
  const name = options.queue ?? defaultQueueName;
  const queue = new Queue<JobData, JobResult>(name, { connection });
  let lastError: Error | undefined;
  const remember = (error: Error) => {
    lastError = error;
  };
  queue.on('error', remember);
  try {
    // QueueEvents cannot be closed while it has never connected, so it is created once Redis answered the queue.
    await readyWithin(queue.waitUntilReady(), options.url, connectTimeoutMs);
  } catch (error) {
    await queue.close().catch(() => {});
    if (EvolutionError.isInstance(error) && lastError) error.message += ` (${lastError.message})`;
    throw error;
  }
  const events = new QueueEvents(name, { connection });
  events.on('error', remember);
  const close = async () => {
    await Promise.allSettled([events.close(), queue.close()]);
  };
  try {
    await readyWithin(events.waitUntilReady(), options.url, connectTimeoutMs);
  } catch (error) {
    await close();
    throw error;
  }
  const jobTimeoutMs = options.jobTimeoutMs ?? 30 * 60_000;
  return {
    name: `remote ${spec.kind} via ${redact(options.url)}`,
    spec,
    close,
    async evaluate(source, context): Promise<Evaluation> {
      if (context.signal?.aborted) throw aborted();
      const jobId = `${options.runId}-${context.candidateId}`;
      const job = await queue.add(
        'evaluate',
        { runId: options.runId, candidateId: context.candidateId, fileName: context.fileName, source, spec },
        { jobId, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } },
      );
      const waiting = job.waitUntilFinished(events, jobTimeoutMs);
      const raw = await (context.signal ? raceAbort(waiting, context.signal, aborted) : waiting).catch((error) => {
        if (EvolutionError.isInstance(error)) throw error;
        throw new EvolutionError({
          code: 'QUEUE_FAILED',
          message: `the evaluation job ${jobId} failed on the queue ${name}: ${(error as Error).message}`,
          fix: 'check that `unity evolve-worker` processes are running against the same Redis and queue',
          cause: error,
        });
      });
      const result = jobResultSchema.safeParse(raw);
      if (!result.success) {
        throw new EvolutionError({
          code: 'QUEUE_FAILED',
          message: `the evaluation job ${jobId} returned an invalid result (${result.error.issues[0]?.message})`,
          fix: 'run workers of the same version as the orchestrator',
        });
      }
      if (!result.data.ok) {
        throw new EvolutionError({ code: 'EVALUATION_FAILED', message: `${result.data.message} (on a worker)` });
      }
      const { ok: _ok, ...evaluation } = result.data;
      return evaluation;
    },
  };
}

function aborted(): EvolutionError {
  return new EvolutionError({ code: 'ABORTED', message: 'the evaluation was aborted' });
}
