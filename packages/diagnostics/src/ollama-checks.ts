import type { Check } from './check';
import { describeProbeFailure } from './http-probe';
import { ollamaModels, ollamaShow, ollamaVersion, withTag } from './ollama-api';

export interface OllamaCheckOptions {
  /** e.g. `http://127.0.0.1:11434` */
  host: string;
  /** Per request (default 3000 ms). */
  timeoutMs?: number;
  required?: boolean;
}

const defaultTimeoutMs = 3000;
export const ollamaReachableId = 'ollama-reachable';
export const modelPulledId = (model: string) => `model-pulled:${withTag(model)}`;

/** The command that starts Ollama here: `ollama serve`, on macOS also `brew services start ollama`. */
export function startOllamaFix(platform: string = process.platform): string {
  return platform === 'darwin' ? '`ollama serve` (or `brew services start ollama`)' : '`ollama serve`';
}

/** Ollama answers `/api/version`. */
export function ollamaReachableCheck(options: OllamaCheckOptions & { platform?: string; provider?: string }): Check {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return {
    id: ollamaReachableId,
    title: 'Ollama reachable',
    required: options.required ?? true,
    provider: options.provider ?? 'ollama',
    async run(signal) {
      const version = await ollamaVersion(options.host, timeoutMs, signal);
      if (version.ok) return { status: 'ok', message: `Ollama ${version.value} at ${options.host}` };
      const { failure } = version;
      const why = describeProbeFailure(failure, 'timeoutMs');
      if (failure.kind === 'http-error' || failure.kind === 'malformed') {
        return {
          status: 'fail',
          message: `${options.host} answered /api/version with ${why}: is it an Ollama server?`,
          fix: 'point ollama.host (or OLLAMA_HOST) at the Ollama server',
        };
      }
      return {
        status: 'fail',
        message: `Ollama is not reachable at ${options.host}: ${why}`,
        fix: `start it: ${startOllamaFix(options.platform)}; or set ollama.host / OLLAMA_HOST to where it runs`,
      };
    },
  };
}

/** The model is pulled (`/api/tags`). */
export function modelPulledCheck(options: OllamaCheckOptions & { model: string }): Check {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const model = withTag(options.model);
  return {
    id: modelPulledId(model),
    title: `Model ${options.model} pulled`,
    required: options.required ?? true,
    dependsOn: [ollamaReachableId],
    async run(signal) {
      const tags = await ollamaModels(options.host, '/api/tags', timeoutMs, signal);
      if (!tags.ok) {
        return { status: 'fail', message: `cannot list models: ${describeProbeFailure(tags.failure, 'timeoutMs')}` };
      }
      const found = tags.value.find((t) => t.name === model);
      if (found) {
        const detail = [formatBytes(found.size), found.quantization].filter(Boolean).join(', ');
        return { status: 'ok', message: `${model} is pulled (${detail})`, data: { sizeBytes: found.size } };
      }
      const have = tags.value.map((t) => t.name);
      return {
        status: 'fail',
        message: `${options.model} is not pulled (pulled: ${have.length > 0 ? have.join(', ') : 'none'})`,
        fix: `\`ollama pull ${options.model}\``,
      };
    },
  };
}

export interface CapabilitiesCheckOptions extends OllamaCheckOptions {
  model: string;
  /** The config uses tools: a model without the "tools" capability fails. */
  needsTools: boolean;
  /** A context window below this warns (default 8192 tokens). */
  minContextLength?: number;
}

/** What the model can do (`/api/show`): tools where they are needed, and its real context length. */
export function modelCapabilitiesCheck(options: CapabilitiesCheckOptions): Check {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const minContext = options.minContextLength ?? 8192;
  return {
    id: `model-capabilities:${withTag(options.model)}`,
    title: `Model ${options.model} capabilities`,
    required: options.required ?? true,
    dependsOn: [modelPulledId(options.model)],
    async run(signal) {
      const shown = await ollamaShow(options.host, options.model, timeoutMs, signal);
      if (!shown.ok) {
        return {
          status: 'fail',
          message: `cannot read its capabilities: ${describeProbeFailure(shown.failure, 'timeoutMs')}`,
        };
      }
      const { capabilities, contextLength } = shown.value;
      const data = { ...(contextLength === undefined ? {} : { contextLength }) };
      const context =
        contextLength === undefined
          ? 'context length not reported'
          : `context ${contextLength.toLocaleString('en-US')} tokens`;
      if (capabilities === undefined) {
        return {
          status: 'warn',
          message: `Ollama does not report capabilities (an old version?); ${context}`,
          fix: 'upgrade Ollama (https://ollama.com/download)',
          data,
        };
      }
      const tools = capabilities.includes('tools');
      if (options.needsTools && !tools) {
        return {
          status: 'fail',
          message: `${options.model} does not support tools (capabilities: ${capabilities.join(', ') || 'none'}), and the config uses tools`,
          fix: 'use a model whose `ollama show <model>` lists "tools", e.g. `ollama pull qwen2.5-coder:7b`, under models:',
          data: { ...data, tools },
        };
      }
      if (contextLength !== undefined && contextLength < minContext) {
        return {
          status: 'warn',
          message: `${context}, below the ${minContext.toLocaleString('en-US')} an agent needs; long tasks will not fit`,
          fix: 'use a model with a longer context (e.g. `ollama pull qwen2.5-coder:7b`, 32k)',
          data: { ...data, tools },
        };
      }
      return {
        status: 'ok',
        message: `${tools ? 'supports tools' : 'no tools (not needed)'}; ${context}`,
        data: { ...data, tools },
      };
    },
  };
}

/** `4683087332` → `4.7 GB` (decimal units, as Ollama prints them). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)} MB`;
  return `${bytes} B`;
}
