import { stat } from 'node:fs/promises';
import { availableParallelism, freemem } from 'node:os';
import { basename } from 'node:path';
import type { ChatRequest, ChatResponse, FinishReason, ToolCall, ToolDefinition, Usage } from '@unity/core';
import { describeError } from '@unity/core';
import type { ChatHistoryItem, ChatWrapper, LlamaGrammar, LlamaModel, LlamaText, Token } from 'node-llama-cpp';
import { ProviderError, type ProviderErrorCode } from '../errors';
import { readGgufHeader, summarizeGguf } from '../model-store/gguf-header';
import { ModelStoreError } from '../model-store/model-store-error';
import type { ModelCapabilities, Provider, ProviderRequest, StreamEvent } from '../provider';
import { generateToolCallId, validateToolArguments } from '../tool-call-text';
import {
  acquireModel,
  getLlamaFor,
  installEngineFix,
  type NodeLlamaCpp,
  nodeLlamaCppVersion,
  releaseModel,
  SequencePool,
  type Slot,
} from './llamacpp-engine';
import {
  buildPlainPrompt,
  buildWrapperHistory,
  type OfferedTools,
  type PromptFormat,
  type ToolChoice,
  type ToolReply,
  toolReplySchema,
} from './llamacpp-prompt';

export type { PromptFormat, ToolChoice } from './llamacpp-prompt';

/** What the embedded engine reports as it works, for apps to log. */
export type LlamaCppEvent =
  | { type: 'model-loaded'; modelPath: string; ms: number; contextSize: number; sequences: number; threads: number }
  /** A request waits because every context sequence is busy. */
  | { type: 'queued'; waiting: number }
  /** A constrained tool reply failed validation and is generated once more. */
  | { type: 'tool-retry'; reason: string };

export interface LlamaCppProviderOptions {
  /** Provider id in attempts and events. Default `llamacpp`. */
  id?: string;
  /** The GGUF file (see `resolveStoreModel` for store names). */
  modelPath: string;
  /** CPU threads for generation. Default: half the machine's cores, at least 1 (1 on a 2-core machine). */
  threads?: number;
  /** Tokens per context sequence. Default `min(2048, the model's training context)`; never above the latter. */
  contextSize?: number;
  /** Requests generated at once (context sequences); more wait in order. Default 2. */
  sequences?: number;
  /** `false` (default) for the CPU build; `'auto'` to let node-llama-cpp pick a GPU build it finds. */
  gpu?: false | 'auto';
  /** Temperature for requests that set none. Default 0 (greedy: the same prompt gives the same reply). */
  temperature?: number;
  /** Output limit for requests that set none. Default: what is left of the context after the prompt. */
  maxOutputTokens?: number;
  /** With tools offered: `auto` (default) lets the reply be a plain answer; `required` makes it call one. */
  toolChoice?: ToolChoice;
  /** How conversations become model input. Default `auto`; see `PromptFormat`. */
  promptFormat?: PromptFormat;
  /** Free memory in bytes, checked against the model file's size before loading. Default `os.freemem`. */
  freeMemory?: () => number;
  /** Loads node-llama-cpp. Default `import('node-llama-cpp')`. */
  importLibrary?: () => Promise<unknown>;
  onEvent?: (event: LlamaCppEvent) => void;
}

interface Engine {
  model: LlamaModel;
  pool: SequencePool;
  contextSize: number;
  /** The model's chat wrapper for the `template` format; undefined for `plain`. */
  wrapper: ChatWrapper | undefined;
}

interface Prepared {
  tokens: Token[];
  stop: (string | LlamaText)[];
  trimLeading: boolean;
}

type FinishEvent = Extract<StreamEvent, { type: 'finish' }>;

const defaultThreads = () => Math.max(1, Math.floor(availableParallelism() / 2));

/**
 * The embedded local engine: a GGUF model run in-process by node-llama-cpp (an optional peer dependency, imported on
 * first use). The model is loaded once and shared; requests stream tokens as text deltas, honour stop sequences, max
 * tokens, temperature, seed and their AbortSignal; concurrent requests share the model through context sequences and
 * queue when all are busy. With tools offered, generation is constrained by a JSON-schema grammar to a call of an
 * offered tool or a plain answer, validated, and retried once.
 */
export function createLlamaCppProvider(options: LlamaCppProviderOptions): Provider {
  const id = options.id ?? 'llamacpp';
  const modelPath = options.modelPath;
  const settings = { gpu: options.gpu ?? false, threads: Math.max(1, Math.floor(options.threads ?? defaultThreads())) };
  const modelName = basename(modelPath).replace(/\.gguf$/i, '');
  let engine: Promise<Engine> | undefined;
  let closed = false;

  const error = (code: ProviderErrorCode, message: string, fix?: string, cause?: unknown) =>
    new ProviderError({ code, message, fix, cause, provider: id, model: modelPath });

  async function loadLibrary(): Promise<NodeLlamaCpp> {
    try {
      return (await (options.importLibrary ?? (() => import('node-llama-cpp')))()) as NodeLlamaCpp;
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw error(
          'NOT_INSTALLED',
          'the embedded engine needs node-llama-cpp, which is not installed',
          installEngineFix,
          cause,
        );
      }
      throw error('NOT_INSTALLED', `node-llama-cpp failed to load: ${describeError(cause)}`, undefined, cause);
    }
  }

  /** The checks that need no engine: the file exists, is GGUF, fits in memory. Returns the header's facts. */
  async function inspectFile(): Promise<{ architecture: string; hasChatTemplate: boolean }> {
    let size: number;
    try {
      size = (await stat(modelPath)).size;
    } catch (cause) {
      throw error(
        'MODEL_NOT_FOUND',
        `model file not found: ${modelPath}`,
        `download it into the store with \`unity models pull <URL | hf:owner/repo/file.gguf>\`, or fix the path`,
        cause,
      );
    }
    let summary: { architecture: string; hasChatTemplate: boolean };
    try {
      summary = summarizeGguf(await readGgufHeader(modelPath, { tensors: false, maxArrayItems: 0 }), modelPath);
    } catch (cause) {
      if (ModelStoreError.isInstance(cause)) throw error('UNSUPPORTED', cause.message, cause.fix, cause);
      throw cause;
    }
    const free = (options.freeMemory ?? freemem)();
    if (size > free) {
      const gb = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GB`;
      throw error(
        'UNSUPPORTED',
        `${modelPath} is too large for the free memory: the file is ${gb(size)}, ${gb(free)} is free`,
        'close other programs, or use a smaller quantization (e.g. a Q4_K_M build) of the model',
      );
    }
    return summary;
  }

  async function load(): Promise<Engine> {
    const started = performance.now();
    const file = await inspectFile();
    const lib = await loadLibrary();
    // A const enum in the typings, a plain object at run time: the architectures this llama.cpp build knows.
    const known = new Set<string>(
      Object.values((lib as { GgufArchitectureType: Record<string, string> }).GgufArchitectureType),
    );
    if (!known.has(file.architecture)) {
      throw error(
        'UNSUPPORTED',
        `${modelPath}: architecture "${file.architecture}" is not supported by node-llama-cpp ${nodeLlamaCppVersion}`,
        'use a model of a supported architecture (llama, qwen2, mistral, gemma, phi3, …)',
      );
    }
    let model: LlamaModel | undefined;
    try {
      const llama = await getLlamaFor(lib, settings);
      model = await acquireModel(llama, settings, modelPath);
      const trained = model.trainContextSize;
      const contextSize = Math.max(16, Math.min(options.contextSize ?? 2048, trained));
      const context = await model.createContext({
        contextSize,
        sequences: Math.max(1, options.sequences ?? 2),
        threads: settings.threads,
      });
      const format = options.promptFormat ?? 'auto';
      const templated = format === 'template' || (format === 'auto' && file.hasChatTemplate);
      const engine: Engine = {
        model,
        pool: new SequencePool(lib, context),
        contextSize: context.contextSize,
        wrapper: templated ? lib.resolveChatWrapper(model) : undefined,
      };
      options.onEvent?.({
        type: 'model-loaded',
        modelPath,
        ms: performance.now() - started,
        contextSize: engine.contextSize,
        sequences: context.totalSequences,
        threads: settings.threads,
      });
      return engine;
    } catch (cause) {
      if (model) await releaseModel(settings, modelPath);
      if (ProviderError.isInstance(cause)) throw cause;
      throw error('UNSUPPORTED', `${modelPath} could not be loaded: ${describeError(cause)}`, undefined, cause);
    }
  }

  function ready(): Promise<Engine> {
    if (closed) return Promise.reject(error('UNSUPPORTED', `provider ${id} is closed`));
    if (!engine) {
      engine = load();
      // A failed load is not cached: the file may be pulled, or memory freed, before the next request.
      engine.catch(() => {
        engine = undefined;
      });
    }
    return engine;
  }

  function prepare(e: Engine, request: ProviderRequest, offered: OfferedTools | undefined): Prepared {
    let tokens: Token[];
    let stop: (string | LlamaText)[] = [...(request.stop ?? [])];
    let trimLeading = false;
    const bos = e.model.tokens.bos != null ? 'trimLeadingSpace' : undefined;
    if (e.wrapper) {
      const state = e.wrapper.generateContextState({
        chatHistory: buildWrapperHistory(request.messages, offered) as ChatHistoryItem[],
      });
      tokens = state.contextText.tokenize(e.model.tokenizer, bos);
      stop = [...stop, ...state.stopGenerationTriggers];
    } else {
      const prompt = buildPlainPrompt(request.messages, offered);
      tokens = e.model.tokenize(prompt.text, false, bos);
      stop = [...stop, ...prompt.stop];
      trimLeading = prompt.transcript;
    }
    // Room for the beginning-of-text token and at least one reply token; node-llama-cpp would cut the prompt silently.
    if (tokens.length + 2 > e.contextSize) {
      throw error(
        'UNSUPPORTED',
        `the prompt is ${tokens.length} tokens, more than the context of ${e.contextSize} tokens can take`,
        'shorten the conversation, or raise contextSize (up to the model’s training context)',
      );
    }
    return { tokens, stop, trimLeading };
  }

  function usageOf(e: Engine, prompt: Prepared, outputTokens: number): Usage {
    const inputTokens = prompt.tokens.length + (e.model.tokens.bos != null ? 1 : 0);
    return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  }

  const finishReasonOf = (stopReason: string): FinishReason =>
    stopReason === 'maxTokens' ? 'length' : stopReason === 'abort' ? 'other' : 'stop';

  /** One generation on a leased sequence, streamed through `onText`. */
  async function generate(
    slot: Slot,
    prompt: Prepared,
    request: ProviderRequest,
    signal: AbortSignal,
    extra: { grammar?: LlamaGrammar; temperature?: number; seed?: number; onText?: (text: string) => void },
  ) {
    let outputTokens = 0;
    const temperature = extra.temperature ?? request.temperature ?? options.temperature ?? 0;
    const seed = extra.seed ?? request.seed;
    const result = await slot.completion.generateCompletionWithMeta(prompt.tokens, {
      signal,
      maxTokens: request.maxOutputTokens ?? options.maxOutputTokens,
      temperature,
      ...(seed !== undefined ? { seed } : {}),
      ...(request.topP !== undefined ? { topP: request.topP } : {}),
      ...(request.topK !== undefined ? { topK: request.topK } : {}),
      ...repeatPenalty(request),
      ...(extra.grammar ? { grammar: extra.grammar } : {}),
      customStopTriggers: prompt.stop.length > 0 ? prompt.stop : undefined,
      disableContextShift: true,
      contextShiftSize: 1,
      onToken: (tokens) => {
        outputTokens += tokens.length;
      },
      onTextChunk: extra.onText,
    });
    return { text: result.response, stopReason: result.metadata.stopReason, outputTokens };
  }

  /** A grammar for `responseFormat: { type: 'json', schema? }`: the schema's, or any JSON. */
  async function jsonGrammar(e: Engine, schema: Record<string, unknown> | undefined): Promise<LlamaGrammar> {
    try {
      return schema
        ? await e.model.llama.createGrammarForJsonSchema(schema as never)
        : await e.model.llama.getGrammarFor('json');
    } catch (cause) {
      throw error(
        'UNSUPPORTED',
        `the response schema cannot be turned into a grammar: ${describeError(cause)}`,
        'simplify the schema (objects of strings, numbers, booleans, enums and arrays)',
        cause,
      );
    }
  }

  async function* textStream(
    slot: Slot,
    e: Engine,
    prompt: Prepared,
    request: ProviderRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent, FinishEvent> {
    const queue = new TextQueue();
    let leading = prompt.trimLeading;
    const grammar = request.responseFormat ? await jsonGrammar(e, request.responseFormat.schema) : undefined;
    const done = generate(slot, prompt, request, signal, {
      ...(grammar ? { grammar } : {}),
      onText: (text) => {
        const chunk = leading ? text.trimStart() : text;
        if (chunk) {
          leading = false;
          queue.push(chunk);
        }
      },
    }).then(
      (result) => {
        queue.end();
        return result;
      },
      (cause: unknown) => {
        queue.end();
        throw cause;
      },
    );
    done.catch(() => undefined);
    for await (const text of queue) yield { type: 'text-delta', text };
    const result = await done;
    return {
      type: 'finish',
      finishReason: finishReasonOf(result.stopReason),
      usage: usageOf(e, prompt, result.outputTokens),
      model: request.model || modelName,
    };
  }

  async function* toolStream(
    slot: Slot,
    e: Engine,
    prompt: Prepared,
    request: ProviderRequest,
    offered: OfferedTools,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent, FinishEvent> {
    let grammar: Awaited<ReturnType<typeof e.model.llama.createGrammarForJsonSchema>>;
    try {
      grammar = await e.model.llama.createGrammarForJsonSchema(toolReplySchema(offered) as never);
    } catch (cause) {
      throw error(
        'UNSUPPORTED',
        `the offered tools' parameter schemas cannot be turned into a grammar: ${describeError(cause)}`,
        'simplify the tool parameter schemas (plain objects of strings, numbers, booleans, enums and arrays)',
        cause,
      );
    }
    let outputTokens = 0;
    let problem = '';
    // Greedy first; the retry samples, since a greedy retry would repeat the same reply.
    for (const attempt of [{}, { temperature: 0.7, seed: (request.seed ?? 0) + 1 }]) {
      if (problem) options.onEvent?.({ type: 'tool-retry', reason: problem });
      const result = await generate(slot, prompt, request, signal, { grammar, ...attempt });
      outputTokens += result.outputTokens;
      const reply = parseToolReply(
        result.text,
        result.stopReason,
        offered.tools,
        (text) => grammar.parse(text) as unknown as ToolReply,
      );
      if (typeof reply === 'string') {
        problem = reply;
        continue;
      }
      const usage = usageOf(e, prompt, outputTokens);
      const model = request.model || modelName;
      if ('answer' in reply) {
        if (reply.answer) yield { type: 'text-delta', text: reply.answer };
        return { type: 'finish', finishReason: 'stop', usage, model };
      }
      yield { type: 'tool-call', toolCall: reply };
      return { type: 'finish', finishReason: 'tool_calls', usage, model };
    }
    throw error(
      'BAD_RESPONSE',
      `the model gave no valid tool call or answer in two tries: ${problem}`,
      'use a larger model for tool calling, or simplify the tool parameter schemas',
    );
  }

  async function* stream(request: ProviderRequest): AsyncGenerator<StreamEvent> {
    const aborted = () =>
      error('ABORTED', `request to ${id} (${modelName}) aborted`, undefined, request.signal.reason as unknown);
    if (request.signal.aborted) throw aborted();
    const e = await ready();
    if (request.signal.aborted) throw aborted();
    const offered = offerTools(request.tools, request.toolChoice ?? options.toolChoice);
    const prompt = prepare(e, request, offered);
    if (e.pool.available === 0) options.onEvent?.({ type: 'queued', waiting: e.pool.queued + 1 });
    let slot: Slot;
    try {
      slot = await e.pool.acquire(request.signal);
    } catch (cause) {
      if (request.signal.aborted) throw aborted();
      throw cause;
    }
    // Our own controller, so that a consumer who stops reading also stops the generation.
    const controller = new AbortController();
    const forward = () => controller.abort(request.signal.reason);
    request.signal.addEventListener('abort', forward, { once: true });
    let finish: FinishEvent;
    try {
      finish = yield* offered
        ? toolStream(slot, e, prompt, request, offered, controller.signal)
        : textStream(slot, e, prompt, request, controller.signal);
    } catch (cause) {
      if (request.signal.aborted) throw aborted();
      if (ProviderError.isInstance(cause)) throw cause;
      throw error('UPSTREAM_ERROR', `generation failed: ${describeError(cause)}`, undefined, cause);
    } finally {
      request.signal.removeEventListener('abort', forward);
      controller.abort();
      e.pool.release(slot);
    }
    // After the sequence went back to the pool: a consumer may stop reading at `finish` without closing the stream.
    yield finish;
  }

  return {
    id,
    kind: 'llamacpp',
    remote: false,
    // Tool choice through the reply grammar; one call per reply, so parallel calls never happen. No log probabilities.
    features: {
      toolChoice: true,
      parallelToolCalls: true,
      logprobs: false,
      topK: true,
      penalties: true,
      reasoning: false,
    },
    stream,
    async chat(request: ProviderRequest): Promise<ChatResponse> {
      let content = '';
      const toolCalls: ToolCall[] = [];
      for await (const event of stream(request)) {
        if (event.type === 'text-delta') content += event.text;
        else if (event.type === 'tool-call') toolCalls.push(event.toolCall);
        else if (event.type === 'finish') {
          return { content, toolCalls, usage: event.usage, finishReason: event.finishReason, model: event.model };
        }
      }
      throw error('BAD_RESPONSE', 'generation ended without a finish event');
    },
    async capabilities(): Promise<ModelCapabilities> {
      const e = await ready();
      return { tools: true, contextLength: e.contextSize };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const current = engine;
      engine = undefined;
      const e = await current?.catch(() => undefined);
      if (!e) return;
      await e.pool.close(error('ABORTED', `provider ${id} closed while the request waited`));
      await releaseModel(settings, modelPath);
    },
  };
}

/** A validated reply, or the reason it is not one. */
function parseToolReply(
  text: string,
  stopReason: string,
  tools: readonly ToolDefinition[],
  parse: (text: string) => ToolReply,
): ToolCall | { answer: string } | string {
  if (stopReason === 'maxTokens') return `the reply was cut at the token limit: ${text.slice(0, 80)}`;
  let reply: ToolReply;
  try {
    reply = parse(text);
  } catch (cause) {
    return `the reply does not match the schema: ${describeError(cause)}`;
  }
  if ('answer' in reply) return { answer: reply.answer };
  const tool = tools.find((t) => t.name === reply.name);
  if (!tool) return `the reply calls an unknown tool "${reply.name}"`;
  const issues = validateToolArguments(tool, reply.arguments);
  if (issues.length > 0) return `invalid arguments for ${tool.name}: ${issues.join('; ')}`;
  return {
    id: generateToolCallId(),
    name: tool.name,
    arguments: reply.arguments,
    rawArguments: JSON.stringify(reply.arguments),
  };
}

/** Text chunks handed from the engine's callback to the async stream, in order. */
class TextQueue implements AsyncIterable<string> {
  private readonly items: string[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(text: string): void {
    this.items.push(text);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) yield item;
      else if (this.ended) return;
      else {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    }
  }
}

/** The tools a reply may call under a tool choice: none, any (`required`: no plain answer), or only the named one. */
function offerTools(tools: ChatRequest['tools'], choice: ChatRequest['toolChoice']): OfferedTools | undefined {
  if (!tools?.length || choice === 'none') return undefined;
  if (typeof choice === 'object') return { tools: tools.filter((t) => t.name === choice.name), choice: 'required' };
  return { tools, choice: choice === 'required' ? 'required' : 'auto' };
}

/**
 * OpenAI's penalties (-2–2) as node-llama-cpp's repeat penalty, which takes 0–1 and no negative (encouraging)
 * values: clamped into that range.
 */
function repeatPenalty(request: ChatRequest) {
  const { frequencyPenalty, presencePenalty } = request;
  if (frequencyPenalty === undefined && presencePenalty === undefined) return {};
  const clamp = (value: number | undefined) => (value === undefined ? undefined : Math.min(1, Math.max(0, value)));
  return {
    repeatPenalty: {
      ...(frequencyPenalty !== undefined ? { frequencyPenalty: clamp(frequencyPenalty) } : {}),
      ...(presencePenalty !== undefined ? { presencePenalty: clamp(presencePenalty) } : {}),
    },
  };
}
