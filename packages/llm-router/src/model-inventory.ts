import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { describeError, redactUrl } from '@unity/core';
import { z } from 'zod';
import { ollamaHost } from './config';
import type { UnityConfig } from './config-schema';
import { ProviderError, type ProviderErrorCode } from './errors';
import { readGgufHeader, summarizeGguf } from './model-store/gguf-header';
import { pullModel, resolvePullSource } from './model-store/pull';
import { listModels, resolveStoreModel } from './model-store/store';
import { parseModelString } from './model-string';
import { loadedModelPaths } from './providers/llamacpp-engine';
import { contextLengthOf } from './providers/ollama';

/** What is known of one model, for listings such as Ollama's /api/tags, /api/show and /api/ps. */
export interface ModelInfo {
  /** The model string (`ollama_chat/qwen2.5-coder:7b`, `llamacpp/stories260K`). */
  modelString: string;
  /** The context window the router serves it with, in tokens (the model's own, capped as the router caps it). */
  contextLength?: number;
  /**
   * What it can do, only what is known to be true: `completion`, `tools`, `embedding`, `vision`, `thinking`, …
   * (Ollama's own list for its models).
   */
  capabilities: string[];
  format?: string;
  /** The architecture (`qwen2`, `llama`), or the provider for a cloud model. */
  family?: string;
  families?: string[];
  parameterSize?: string;
  quantization?: string;
  sizeBytes?: number;
  /** `sha256:<hex>` of the model file (Ollama's digest for its models). */
  digest?: string;
  /** ISO time. */
  modifiedAt?: string;
}

/** A model an engine holds loaded now. */
export interface RunningModel extends ModelInfo {
  /** When Ollama unloads it (ISO time); absent for the embedded engine, which keeps it until the router closes. */
  expiresAt?: string;
  sizeVram?: number;
}

/** One line of a pull's progress, in Ollama's shape. */
export interface ModelPullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

interface ModelInventoryOptions {
  config: UnityConfig;
  env: Record<string, string | undefined>;
  /** The model store folder. */
  storeDir: string;
  /** How long a listing waits for Ollama (default 5 s). */
  timeoutMs?: number;
}

const detailsSchema = z
  .object({
    format: z.string().optional(),
    family: z.string().optional(),
    families: z.array(z.string()).nullish(),
    parameter_size: z.string().optional(),
    quantization_level: z.string().optional(),
  })
  .partial();
const tagSchema = z.object({
  name: z.string(),
  model: z.string().optional(),
  size: z.number().optional(),
  digest: z.string().optional(),
  modified_at: z.string().optional(),
  details: detailsSchema.optional(),
  expires_at: z.string().optional(),
  size_vram: z.number().optional(),
  context_length: z.number().optional(),
});
const tagsSchema = z.object({ models: z.array(tagSchema).nullish() });
const showSchema = z.object({
  capabilities: z.array(z.string()).optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
  details: detailsSchema.optional(),
  modified_at: z.string().optional(),
});
type Tag = z.output<typeof tagSchema>;

const withTag = (name: string) => (name.includes(':') ? name : `${name}:latest`);

/** `7.6B`, `260K`: a parameter count as Ollama writes it. */
function parameterSize(count: number | undefined): string | undefined {
  if (count === undefined || count <= 0) return undefined;
  const [div, unit] = count >= 1e9 ? [1e9, 'B'] : count >= 1e6 ? [1e6, 'M'] : [1e3, 'K'];
  const value = count / div;
  return `${value >= 100 ? Math.round(value) : Number(value.toPrecision(2))}${unit}`;
}

/**
 * What the local engines have and hold: Ollama's `/api/tags`, `/api/show`, `/api/ps` and `/api/pull` on the configured
 * host, and the model store's GGUF files (header facts, sha256, which ones the embedded engine has loaded). Used by
 * the router's `modelInfo`, `availableModels`, `runningModels` and `pullModel`.
 */
export class ModelInventory {
  private readonly host: string;
  private readonly timeoutMs: number;
  /** sha256 of store files, by path, size and mtime: each file is hashed once. */
  private readonly digests = new Map<string, Promise<string>>();

  constructor(private readonly options: ModelInventoryOptions) {
    this.host = ollamaHost(options.config, options.env).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** What is known of a model string; undefined when its provider does not have the model (not pulled, no file). */
  async info(modelString: string, signal?: AbortSignal): Promise<ModelInfo | undefined> {
    const ref = parseModelString(modelString, 'model');
    if (ref.kind === 'llamacpp')
      return this.storeFile(modelString, resolveStoreModel(ref.model, this.options.storeDir));
    if (ref.kind === 'ollama') return this.ollamaInfo(modelString, ref.model, signal);
    // An OpenAI-compatible chat API: it takes tools (the model may still refuse them), its window is not published.
    return { modelString, family: ref.prefix, capabilities: ['completion', 'tools'] };
  }

  /** The models the local engines have: Ollama's pulled models and the model store's files (an unreachable Ollama: none of its). */
  async available(signal?: AbortSignal): Promise<ModelInfo[]> {
    const [tags, stored] = await Promise.all([
      this.ollamaList('/api/tags', signal).catch(() => [] as Tag[]),
      listModels(this.options.storeDir).catch(() => []),
    ]);
    const files = await Promise.all(
      stored.map((m) => this.storeFile(`llamacpp/${m.name}`, m.path).catch(() => undefined)),
    );
    return [...tags.map((t) => this.fromTag(t)), ...files.filter((f): f is ModelInfo => f !== undefined)];
  }

  /** What the engines hold loaded now: Ollama's `/api/ps` and the GGUF files the embedded engine has loaded. */
  async running(signal?: AbortSignal): Promise<RunningModel[]> {
    const ps = await this.ollamaList('/api/ps', signal).catch(() => [] as Tag[]);
    const embedded = await Promise.all(
      loadedModelPaths().map((path) => {
        const inStore = resolve(dirname(path)) === resolve(this.options.storeDir);
        const name = inStore ? basename(path).replace(/\.gguf$/i, '') : path;
        return this.storeFile(`llamacpp/${name}`, path).catch(() => undefined);
      }),
    );
    return [
      ...ps.map((t) => ({
        ...this.fromTag(t),
        ...(t.expires_at ? { expiresAt: t.expires_at } : {}),
        ...(t.size_vram !== undefined ? { sizeVram: t.size_vram } : {}),
        ...(t.context_length ? { contextLength: t.context_length } : {}),
      })),
      ...embedded.filter((m): m is ModelInfo => m !== undefined),
    ];
  }

  /**
   * Pull a model: `ollama_chat/<tag>` (or `ollama/<tag>`) on the Ollama host, its progress passed through;
   * `llamacpp/<hf:…|https://…>` into the model store, its progress in Ollama's shape. Throws a ProviderError
   * (`BAD_REQUEST` for a name that cannot be pulled, the upstream's failure otherwise).
   */
  async *pull(modelString: string, signal?: AbortSignal): AsyncGenerator<ModelPullProgress> {
    const ref = parseModelString(modelString, 'model');
    if (ref.kind === 'ollama') {
      yield* this.ollamaPull(ref.model, signal);
      return;
    }
    if (ref.kind === 'llamacpp') {
      yield* this.storePull(ref.model, signal);
      return;
    }
    throw this.error(
      'BAD_REQUEST',
      ref.prefix,
      modelString,
      `"${modelString}" is a cloud model: there is nothing to pull`,
      'pull an Ollama model (ollama_chat/<tag>) or a GGUF file into the model store (llamacpp/hf:<owner>/<repo>/<file>.gguf)',
    );
  }

  private error(code: ProviderErrorCode, provider: string, model: string, message: string, fix?: string) {
    return new ProviderError({ code, provider, model, message, ...(fix ? { fix } : {}) });
  }

  private signalFor(signal: AbortSignal | undefined, timeout = true): AbortSignal | undefined {
    const signals = [signal, timeout ? AbortSignal.timeout(this.timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  }

  private async ollamaJson(path: string, signal: AbortSignal | undefined, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.host}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      ...(this.signalFor(signal) ? { signal: this.signalFor(signal) as AbortSignal } : {}),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${redactUrl(this.host)}${path}: HTTP ${response.status}`);
    return response.json();
  }

  private async ollamaList(path: '/api/tags' | '/api/ps', signal?: AbortSignal): Promise<Tag[]> {
    const parsed = tagsSchema.safeParse(await this.ollamaJson(path, signal));
    return parsed.success ? (parsed.data.models ?? []) : [];
  }

  private fromTag(t: Tag): ModelInfo {
    const d = t.details ?? {};
    return {
      modelString: `ollama_chat/${t.name}`,
      capabilities: [],
      ...(d.format ? { format: d.format } : {}),
      ...(d.family ? { family: d.family, families: d.families ?? [d.family] } : {}),
      ...(d.parameter_size ? { parameterSize: d.parameter_size } : {}),
      ...(d.quantization_level ? { quantization: d.quantization_level } : {}),
      ...(t.size !== undefined ? { sizeBytes: t.size } : {}),
      ...(t.digest ? { digest: t.digest.startsWith('sha256:') ? t.digest : `sha256:${t.digest}` } : {}),
      ...(t.modified_at ? { modifiedAt: t.modified_at } : {}),
    };
  }

  private async ollamaInfo(modelString: string, model: string, signal?: AbortSignal): Promise<ModelInfo | undefined> {
    const [show, tags] = await Promise.all([
      this.ollamaJson('/api/show', signal, { model }).catch(() => undefined),
      this.ollamaList('/api/tags', signal).catch(() => [] as Tag[]),
    ]);
    const parsed = showSchema.safeParse(show);
    if (show === undefined || !parsed.success) return undefined;
    const tag = tags.find((t) => t.name === withTag(model) || t.model === withTag(model));
    const listed = tag ? this.fromTag(tag) : { modelString, capabilities: [] };
    const { contextLength } = contextLengthOf(parsed.data.model_info ?? {});
    const details = parsed.data.details ?? {};
    return {
      ...listed,
      modelString,
      capabilities: parsed.data.capabilities ?? ['completion'],
      ...(contextLength ? { contextLength: Math.min(contextLength, this.options.config.ollama.max_context) } : {}),
      ...(details.family ? { family: details.family, families: details.families ?? [details.family] } : {}),
      ...(!listed.format && details.format ? { format: details.format } : {}),
    };
  }

  /** A GGUF file's facts: its header, size, sha256 and modification time; undefined when there is no such file. */
  private async storeFile(modelString: string, path: string): Promise<ModelInfo | undefined> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const summary = summarizeGguf(await readGgufHeader(path), path);
    const served = this.options.config.llamacpp.context_size ?? 2048;
    const key = `${path}\n${info.size}\n${info.mtimeMs}`;
    let digest = this.digests.get(key);
    if (!digest) {
      digest = sha256Of(path);
      this.digests.set(key, digest);
      digest.catch(() => this.digests.delete(key));
    }
    const size = parameterSize(summary.parameterCount);
    return {
      modelString,
      // The embedded engine's context: llamacpp.context_size (default 2048), never above the training context.
      contextLength: Math.min(served, summary.contextLength ?? served),
      // Tool calls are produced under a grammar of the offered tools, whatever the model.
      capabilities: ['completion', 'tools'],
      format: 'gguf',
      family: summary.architecture,
      families: [summary.architecture],
      ...(size ? { parameterSize: size } : {}),
      ...(summary.quantization ? { quantization: summary.quantization } : {}),
      sizeBytes: info.size,
      digest: `sha256:${await digest}`,
      modifiedAt: info.mtime.toISOString(),
    };
  }

  private async *ollamaPull(model: string, signal?: AbortSignal): AsyncGenerator<ModelPullProgress> {
    const where = `${redactUrl(this.host)}/api/pull`;
    const fail = (message: string, code: ProviderErrorCode = 'UPSTREAM_ERROR', fix?: string) =>
      this.error(code, 'ollama', model, message, fix);
    let response: Response;
    try {
      response = await fetch(`${this.host}/api/pull`, {
        method: 'POST',
        body: JSON.stringify({ model, stream: true }),
        headers: { 'content-type': 'application/json' },
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw fail(
        `cannot reach Ollama at ${where}: ${describeError(error)}`,
        'CONNECTION_FAILED',
        'start Ollama (`ollama serve`), or point ollama.host / OLLAMA_HOST at where it runs',
      );
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      const message = (() => {
        try {
          return String((JSON.parse(text) as { error?: unknown }).error ?? text);
        } catch {
          return text;
        }
      })();
      throw fail(
        `Ollama at ${where} refused to pull ${model}: HTTP ${response.status} ${message}`.trim(),
        response.status === 404 ? 'MODEL_NOT_FOUND' : response.status < 500 ? 'BAD_REQUEST' : 'UPSTREAM_ERROR',
        response.status === 404 ? `check the name on https://ollama.com/library` : undefined,
      );
    }
    const decoder = new TextDecoder();
    let buffered = '';
    const parse = (line: string): ModelPullProgress | undefined => {
      if (line.trim() === '') return undefined;
      const value = JSON.parse(line) as ModelPullProgress & { error?: string };
      if (typeof value.error === 'string') throw fail(`Ollama failed to pull ${model}: ${value.error}`);
      return value;
    };
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (line) yield line;
        newline = buffered.indexOf('\n');
      }
    }
    const last = parse(buffered);
    if (last) yield last;
  }

  private async *storePull(source: string, signal?: AbortSignal): AsyncGenerator<ModelPullProgress> {
    let resolved: ReturnType<typeof resolvePullSource>;
    try {
      resolved = resolvePullSource(source);
    } catch (error) {
      throw this.error('BAD_REQUEST', 'llamacpp', source, describeError(error));
    }
    if (resolved.localPath) {
      throw this.error(
        'BAD_REQUEST',
        'llamacpp',
        source,
        `"llamacpp/${source}" names a file on this machine: over HTTP the model store pulls only from URLs`,
        'pull from https://… or hf:<owner>/<repo>/<file>.gguf, or copy a local file in with `unity models pull <path>`',
      );
    }
    const file = resolved.fileName;
    const queue: ModelPullProgress[] = [];
    let wake: (() => void) | undefined;
    let lastSent = -1;
    const push = (line: ModelPullProgress) => {
      queue.push(line);
      wake?.();
    };
    push({ status: `pulling ${file} from ${redactUrl(resolved.url)}` });
    const pulling = pullModel(source, {
      dir: this.options.storeDir,
      ...(signal ? { signal } : {}),
      onProgress: ({ receivedBytes, totalBytes }) => {
        // One line per percent (or per MiB when the size is unknown), and the last one.
        const step = totalBytes ? Math.max(1, Math.floor(totalBytes / 100)) : 1 << 20;
        if (receivedBytes !== totalBytes && receivedBytes - lastSent < step) return;
        lastSent = receivedBytes;
        push({
          status: `pulling ${file}`,
          digest: file,
          ...(totalBytes !== undefined ? { total: totalBytes } : {}),
          completed: receivedBytes,
        });
      },
    }).then(
      (result) => {
        if (result.alreadyPresent) push({ status: `${file} is already in the model store` });
        push({ status: 'verifying sha256 digest', digest: `sha256:${result.sha256}` });
        push({ status: 'success' });
        return undefined;
      },
      (error: unknown) => error,
    );
    let failure: unknown;
    let finished = false;
    void pulling.then((error) => {
      failure = error;
      finished = true;
      wake?.();
    });
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (finished) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
    if (failure !== undefined) {
      const code = (failure as { code?: string }).code;
      throw this.error(
        code === 'ABORTED'
          ? 'ABORTED'
          : code === 'INVALID_SOURCE' || code === 'NOT_GGUF'
            ? 'BAD_REQUEST'
            : 'UPSTREAM_ERROR',
        'llamacpp',
        source,
        describeError(failure),
        (failure as { fix?: string }).fix,
      );
    }
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
