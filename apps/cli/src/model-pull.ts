import { createInterface } from 'node:readline/promises';
import {
  type DefaultModel,
  defaultModel,
  type PullProgress,
  type PullResult,
  pullModel,
} from '@unity/llm-router/model-store';
import { Presets, SingleBar } from 'cli-progress';
import { onInterrupt } from './cli-process';

/** `1.2 MB`, `491.0 MB`: decimal units, as download sizes are given. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A progress bar on stderr (drawn only on a terminal), fed by the pull's progress events. */
function progressBar(name: string): { update: (p: PullProgress) => void; stop: () => void } {
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${name} {bar} {percentage}% | {done} / {size}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = { done: formatBytes(p.receivedBytes), size: p.totalBytes ? formatBytes(p.totalBytes) : '?' };
      if (!started) {
        started = true;
        if (p.resumedFromBytes > 0) process.stderr.write(`resuming ${name} from ${formatBytes(p.resumedFromBytes)}\n`);
        bar.start(p.totalBytes ?? 0, p.receivedBytes, payload);
      } else {
        bar.update(p.receivedBytes, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Pull `source` into `dir` with a progress bar on stderr; Ctrl-C aborts it (the `.part` file stays for resuming). */
export async function pullWithProgress(
  source: string,
  options: { dir: string; sha256?: string; force?: boolean },
): Promise<PullResult> {
  const controller = new AbortController();
  const stopListening = onInterrupt(() => controller.abort());
  const bar = progressBar(source.split('/').pop() ?? source);
  try {
    return await pullModel(source, { ...options, signal: controller.signal, onProgress: bar.update });
  } finally {
    bar.stop();
    stopListening();
  }
}

/** How a pulled model was checked, for the line after the pull. */
export function verificationNote(result: PullResult): string {
  const commit = result.commit ? ` at commit ${result.commit}` : '';
  if (result.verifiedBy === 'sha256') return `sha256 ${result.sha256} as expected${commit}`;
  if (result.verifiedBy === 'hub') return `sha256 ${result.sha256}, as the hub published it${commit}`;
  return `sha256 ${result.sha256}, not verified: no sha256 was given or published`;
}

/**
 * The default model (`llamacpp.default_model`, filled from `UNITY_DEFAULT_MODEL` by the settings layer; `HF_ENDPOINT`;
 * else the pinned Hugging Face file), with its size.
 */
export function describeDefaultModel(
  configured: string | undefined,
  env: Record<string, string | undefined> = process.env,
): {
  model: DefaultModel;
  size: string;
} {
  const model = defaultModel({ configured, env });
  return { model, size: model.approxBytes ? `about ${Math.round(model.approxBytes / 1e6)} MB` : 'size unknown' };
}

/**
 * Ask on the terminal whether to pull the default model into `dir`; true when the user said yes (Enter is yes).
 */
export async function confirmDefaultPull(
  dir: string,
  configured: string | undefined,
  env: Record<string, string | undefined> = process.env,
) {
  const { model, size } = describeDefaultModel(configured, env);
  // readline redraws its prompt line: the explanation goes before it, the question alone on the prompt line.
  process.stderr.write(
    `unity: the model store (${dir}) is empty. The default model is ${model.name} (${size}), from\n  ${model.source}\n`,
  );
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question('unity: download it and answer with it? [Y/n] ');
    return /^(y|yes)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
