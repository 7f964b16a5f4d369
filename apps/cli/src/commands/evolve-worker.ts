import { startEvolveWorker, type WorkerEvent } from '@unity/textgrad';
import type { Command } from 'commander';
import { positiveInteger } from '../cli-process';
import { loadSandboxSettings } from '../sandbox-settings';

interface WorkerFlags {
  redis: string;
  queue: string;
  concurrency: number;
  lockDuration: number;
  json?: boolean;
}

function describe(event: WorkerEvent): string {
  switch (event.type) {
    case 'ready':
      return `unity evolve-worker: waiting for evaluations on queue ${event.queue}`;
    case 'job-start':
      return `evaluating ${event.candidateId} (job ${event.jobId}${event.attempt > 1 ? `, attempt ${event.attempt}` : ''})`;
    case 'job-done':
      return event.score === null
        ? `${event.candidateId}: failed: ${event.error}`
        : `${event.candidateId}: score ${event.score.toFixed(2)}`;
    case 'error':
      return `unity evolve-worker: ${event.message}`;
  }
}

/** `unity evolve-worker --redis URL`: run evaluations queued by `unity evolve --redis URL` until stopped. */
export function registerEvolveWorkerCommand(program: Command): void {
  program
    .command('evolve-worker')
    .description('run evaluations that `unity evolve --redis` queues (any number of workers, on any machine)')
    .requiredOption('--redis <url>', 'the Redis that `unity evolve --redis` uses, e.g. redis://127.0.0.1:6379')
    .option('--queue <name>', 'queue name', 'unity-evolve')
    .option('--concurrency <n>', 'evaluations run at once', positiveInteger, 1)
    .option(
      '--lock-duration <ms>',
      'a job whose worker is silent this long goes to another worker',
      positiveInteger,
      30_000,
    )
    .option('--json', 'print one JSON object per event instead of text')
    .addHelpText(
      'after',
      '\nEach evaluation runs in a fresh OS sandbox here (bubblewrap: its own folder, no network, every process\n' +
        'killed at the timeout, an allow-listed environment; `tools:` in the config). A worker killed mid-job\n' +
        'loses nothing: its job is taken over by another once the lock expires. Ctrl-C or SIGTERM finishes the\n' +
        'running evaluations and exits.',
    )
    .action(async (flags: WorkerFlags) => {
      const print = (event: WorkerEvent) =>
        process.stdout.write(`${flags.json ? JSON.stringify(event) : describe(event)}\n`);
      const worker = await startEvolveWorker({
        url: flags.redis,
        queue: flags.queue,
        concurrency: flags.concurrency,
        lockDurationMs: flags.lockDuration,
        sandbox: { env: process.env, ...(await loadSandboxSettings(undefined)) },
        onEvent: print,
      });
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await worker.close();
    });
}
