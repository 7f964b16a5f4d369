import { freemem, totalmem } from 'node:os';
import type { Check } from './check';
import { describeProbeFailure } from './http-probe';
import { ollamaModels, withTag } from './ollama-api';
import { formatBytes, ollamaReachableId } from './ollama-checks';

export interface MemoryReading {
  freeBytes: number;
  totalBytes: number;
}

export interface MemoryCheckOptions {
  host: string;
  /** The local models in use; the largest pulled one is sized. */
  models: readonly string[];
  /**
   * RAM needed per byte of model file: weights plus KV cache and runtime. Default 1.7, from the seed's figures
   * (qwen2.5-coder:7b is 4.7 GB on disk and needs ~8 GB of RAM).
   */
  ramPerModelByte?: number;
  /** Reads free and total RAM (default: `os.freemem()` / `os.totalmem()`). */
  readMemory?: () => MemoryReading;
  timeoutMs?: number;
  /** Where the cloud can be switched on, named in the fix (e.g. `configs/system.yaml`). */
  configFile?: string;
}

/** Enough free RAM for the largest local model in use (the seed's "out of memory": qwen2.5-coder:7b needs ~8 GB). */
export function memoryCheck(options: MemoryCheckOptions): Check {
  const timeoutMs = options.timeoutMs ?? 3000;
  const factor = options.ramPerModelByte ?? 1.7;
  const readMemory = options.readMemory ?? (() => ({ freeBytes: freemem(), totalBytes: totalmem() }));
  const useCloud = `use the cloud (cloud_llm.enabled: true${options.configFile ? ` in ${options.configFile}` : ''})`;
  return {
    id: 'memory',
    title: 'Memory for the local model',
    required: false,
    dependsOn: [ollamaReachableId],
    async run(signal) {
      const [pulled, loaded] = await Promise.all([
        ollamaModels(options.host, '/api/tags', timeoutMs, signal),
        ollamaModels(options.host, '/api/ps', timeoutMs, signal),
      ]);
      if (!pulled.ok) {
        return {
          status: 'fail',
          message: `cannot size the models: ${describeProbeFailure(pulled.failure, 'timeoutMs')}`,
        };
      }
      const wanted = new Set(options.models.map(withTag));
      const largest = pulled.value.filter((t) => wanted.has(t.name)).sort((a, b) => b.size - a.size)[0];
      if (!largest) return { status: 'skip', message: 'no local model in use is pulled, so none to size' };
      const needed = largest.size * factor;
      const { freeBytes, totalBytes } = readMemory();
      const data = { model: largest.name, neededBytes: Math.round(needed), freeBytes, totalBytes };
      if (loaded.ok && loaded.value.some((m) => m.name === largest.name)) {
        return { status: 'ok', message: `${largest.name} is loaded already; ${formatBytes(freeBytes)} free`, data };
      }
      const need = `${largest.name} needs ~${formatBytes(needed)} of RAM`;
      if (totalBytes < needed) {
        return {
          status: 'fail',
          message: `${need}; this machine has ${formatBytes(totalBytes)} in all`,
          fix: `use a smaller model (e.g. \`ollama pull qwen2.5-coder:3b\`) or ${useCloud}`,
          data,
        };
      }
      if (freeBytes < needed) {
        return {
          status: 'warn',
          message: `${need}; only ${formatBytes(freeBytes)} of ${formatBytes(totalBytes)} is free`,
          fix: `free memory (close programs; \`htop\` shows what uses it) or ${useCloud}`,
          data,
        };
      }
      return { status: 'ok', message: `${need}; ${formatBytes(freeBytes)} free`, data };
    },
  };
}
