import { fakeEmbedding } from './embedding';
import { cutConnection, FakeUpstream, type HandlerContext, sendJson } from './fake-upstream';
import { fakeLogprobs } from './logprobs';
import { type ChatRequestInfo, type Fault, isFault, type Reply } from './script';
import { chunkText, countTokens, lastUserText, promptTokens } from './text';

export interface FakeOllamaModel {
  name: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
  /** Reported by /api/show as `<family>.context_length`. */
  contextLength?: number;
  /**
   * Reported by /api/show; a chat with tools to a model without "tools" gets Ollama's 400, and /api/embed and
   * /api/embeddings need "embedding".
   */
  capabilities?: string[];
  size?: number;
  /** The vector length of its embeddings (`<family>.embedding_length` in /api/show). */
  embeddingLength?: number;
}

export interface FakeOllamaOptions {
  /** Pulled models (default: qwen2.5-coder:7b with tools, 32k context). */
  models?: FakeOllamaModel[];
  version?: string;
  port?: number;
  /** Models `/api/pull` can fetch (default: llama3.2:1b); pulling one adds it to the pulled models. */
  registry?: FakeOllamaModel[];
}

export const defaultOllamaModel: Required<FakeOllamaModel> = {
  name: 'qwen2.5-coder:7b',
  family: 'qwen2',
  parameterSize: '7.6B',
  quantization: 'Q4_K_M',
  contextLength: 32_768,
  capabilities: ['completion', 'tools', 'insert'],
  size: 4_683_087_332,
  embeddingLength: 3584,
};

/** nomic-embed-text as Ollama describes it: an embedding model (768 dimensions, 2048-token context here). */
export const nomicEmbedModel: FakeOllamaModel = {
  name: 'nomic-embed-text:latest',
  family: 'nomic-bert',
  parameterSize: '137M',
  quantization: 'F16',
  contextLength: 2048,
  capabilities: ['embedding'],
  size: 274_302_450,
  embeddingLength: 768,
};

/** The first version of Ollama with /api/embed (older ones have only /api/embeddings). */
const embedSince = [0, 3, 0];

const versionAtLeast = (version: string, minimum: number[]) => {
  const parts = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < minimum.length; i++) {
    const a = parts[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
};

const withTag = (name: string) => (name.includes(':') ? name : `${name}:latest`);

/**
 * A fake Ollama server speaking its REST API as the real one does: `/`, `/api/version`, `/api/tags`, `/api/ps`,
 * `/api/show` (capabilities, context length), `/api/chat` and `/api/generate` (NDJSON streaming by default, tool
 * arguments as objects, nanosecond durations, `logprobs`/`top_logprobs` as Ollama 0.12.11 added them), `/api/embed`
 * (from version 0.3.0, as Ollama) and the legacy `/api/embeddings` (vectors derived from the text, see
 * `fakeEmbedding`), errors as `{"error": "..."}`, and fault injection. Queued steps are taken by chat, generate and
 * embeddings requests alike, in order.
 */
export class FakeOllama extends FakeUpstream {
  readonly models: Required<FakeOllamaModel>[];
  private readonly version: string;
  private readonly loaded = new Map<string, number>();
  private readonly registry: FakeOllamaModel[];
  private callCounter = 0;

  private constructor(options: FakeOllamaOptions) {
    super((request) => ({ text: `echo: ${lastUserText(request.body.messages) || String(request.body.prompt ?? '')}` }));
    this.models = (options.models ?? [defaultOllamaModel]).map((m) => ({
      ...defaultOllamaModel,
      family:
        m.family ?? (withTag(m.name) === defaultOllamaModel.name ? defaultOllamaModel.family : guessFamily(m.name)),
      ...m,
      name: withTag(m.name),
    }));
    this.version = options.version ?? '0.12.6';
    this.registry = options.registry ?? [
      { name: 'llama3.2:1b', family: 'llama', parameterSize: '1.2B', contextLength: 131_072, size: 1_321_098_329 },
    ];
  }

  static async start(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
    return new FakeOllama(options).listen(options.port);
  }

  /** What an Ollama client takes as `host`. */
  get host(): string {
    return this.origin;
  }

  protected async handle(ctx: HandlerContext): Promise<void> {
    const { req, res, path } = ctx;
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Ollama is running');
        return;
      case 'GET /api/version':
        return sendJson(res, 200, { version: this.version });
      case 'GET /api/tags':
        return sendJson(res, 200, { models: this.models.map((m) => this.describe(m)) });
      case 'GET /api/ps':
        return sendJson(res, 200, {
          models: this.models
            .filter((m) => this.loaded.has(m.name))
            .map((m) => ({
              ...this.describe(m),
              expires_at: new Date((this.loaded.get(m.name) ?? 0) + 5 * 60_000).toISOString(),
              size_vram: 0,
            })),
        });
      case 'POST /api/show':
        return this.show(ctx);
      case 'POST /api/pull':
        return this.pull(ctx);
      case 'POST /api/chat':
      case 'POST /api/generate':
        return this.generate(ctx, path === '/api/chat' ? 'chat' : 'generate');
      case 'POST /api/embed':
        // Older servers answer it as any unknown route.
        if (versionAtLeast(this.version, embedSince)) return this.embed(ctx, 'embed');
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found');
        return;
      case 'POST /api/embeddings':
        return this.embed(ctx, 'embeddings');
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found');
    }
  }

  private find(name: unknown): Required<FakeOllamaModel> | undefined {
    return typeof name === 'string' ? this.models.find((m) => m.name === withTag(name)) : undefined;
  }

  private describe(m: Required<FakeOllamaModel>) {
    return {
      name: m.name,
      model: m.name,
      modified_at: '2025-11-01T10:00:00.000000000Z',
      size: m.size,
      digest: `sha256:${Buffer.from(m.name).toString('hex').padEnd(64, '0').slice(0, 64)}`,
      details: {
        parent_model: '',
        format: 'gguf',
        family: m.family,
        families: [m.family],
        parameter_size: m.parameterSize,
        quantization_level: m.quantization,
      },
    };
  }

  /**
   * Ollama's pull: NDJSON progress (`pulling manifest`, `pulling <digest>` with total/completed, `verifying sha256
   * digest`, `writing manifest`, `success`) by default; with `stream: false` only the last line. A name not in the
   * registry fails as Ollama does: an error line under 200 when streaming, else 500.
   */
  private async pull(ctx: HandlerContext): Promise<void> {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const name = String(body.model ?? body.name ?? '');
    const known = this.registry.find((m) => withTag(m.name) === withTag(name));
    const stream = body.stream !== false;
    if (!known) {
      const error = { error: 'pull model manifest: file does not exist' };
      if (!stream) return sendJson(ctx.res, 500, error);
      ctx.res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      ctx.res.end(`${JSON.stringify({ status: 'pulling manifest' })}\n${JSON.stringify(error)}\n`);
      return;
    }
    const model = { ...defaultOllamaModel, family: guessFamily(known.name), ...known, name: withTag(known.name) };
    const digest = this.describe(model).digest;
    const total = model.size;
    const lines = [
      { status: 'pulling manifest' },
      ...[0, 0.5, 1].map((f) => ({
        status: `pulling ${digest.slice(7, 19)}`,
        digest,
        total,
        completed: Math.floor(total * f),
      })),
      { status: 'verifying sha256 digest' },
      { status: 'writing manifest' },
      { status: 'success' },
    ];
    if (!this.models.some((m) => m.name === model.name)) this.models.push(model);
    if (!stream) return sendJson(ctx.res, 200, { status: 'success' });
    ctx.res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const line of lines) ctx.res.write(`${JSON.stringify(line)}\n`);
    ctx.res.end();
  }

  private show(ctx: HandlerContext): void {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const model = this.find(body.model ?? body.name);
    if (!model) {
      sendJson(ctx.res, 404, { error: `model '${String(body.model ?? body.name)}' not found` });
      return;
    }
    sendJson(ctx.res, 200, {
      license: '',
      modelfile: `FROM ${model.name}`,
      parameters: 'stop "<|im_end|>"',
      template: '{{ .Prompt }}',
      details: this.describe(model).details,
      model_info: {
        'general.architecture': model.family,
        'general.parameter_count': 7_615_616_512,
        [`${model.family}.context_length`]: model.contextLength,
        [`${model.family}.embedding_length`]: model.embeddingLength,
      },
      capabilities: model.capabilities,
      modified_at: '2025-11-01T10:00:00.000000000Z',
    });
  }

  /**
   * `/api/embed` {model, input: string | string[], truncate, dimensions} → {model, embeddings (unit length),
   * total_duration, load_duration, prompt_eval_count}; the legacy `/api/embeddings` {model, prompt} → {embedding}
   * (not normalised, as Ollama's legacy endpoint).
   */
  private async embed(ctx: HandlerContext, kind: 'embed' | 'embeddings'): Promise<void> {
    const { res } = ctx;
    if (typeof ctx.body !== 'object' || ctx.body === null) {
      return sendJson(res, 400, { error: 'invalid character looking for beginning of value' });
    }
    const body = ctx.body as Record<string, unknown>;
    if (typeof body.model !== 'string' || body.model === '') return sendJson(res, 400, { error: 'model is required' });
    const model = this.find(body.model);
    if (!model) return sendJson(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
    if (!model.capabilities.includes('embedding')) {
      return sendJson(res, 400, { error: `registry.ollama.ai/library/${model.name} does not support embedding` });
    }
    const raw = kind === 'embed' ? body.input : body.prompt;
    const inputs = raw === undefined || raw === null ? [] : typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(inputs) || (kind === 'embeddings' && typeof raw !== 'string' && raw !== undefined)) {
      return sendJson(res, 400, { error: 'invalid input type' });
    }
    if (!inputs.every((item): item is string => typeof item === 'string')) {
      return sendJson(res, 400, { error: 'invalid input type' });
    }
    let dimensions = model.embeddingLength;
    if (kind === 'embed' && body.dimensions !== undefined && body.dimensions !== 0) {
      const asked = body.dimensions;
      if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1 || asked > model.embeddingLength) {
        return sendJson(res, 400, { error: `dimensions must be between 1 and ${model.embeddingLength}` });
      }
      dimensions = asked;
    }
    // Longer inputs are cut to the context (truncate, the default) or refused.
    const texts: string[] = [];
    for (const text of inputs) {
      const words = text.split(/\s+/).filter(Boolean);
      if (words.length <= model.contextLength) texts.push(text);
      else if (kind === 'embed' && body.truncate === false) {
        return sendJson(res, 400, { error: 'the input length exceeds the context length' });
      } else texts.push(words.slice(0, model.contextLength).join(' '));
    }
    this.loaded.set(model.name, Date.now());
    const info: ChatRequestInfo = { path: ctx.path, body, headers: ctx.req.headers, stream: false };
    const step = this.nextStep(info);
    let cut = false;
    if (isFault(step)) {
      switch (step.fault) {
        case 'reset':
          ctx.req.socket.destroy();
          return;
        case 'status':
          return sendJson(
            res,
            step.status,
            {
              error:
                step.message ??
                (step.status === 503
                  ? 'server busy, please try again.  maximum pending requests exceeded'
                  : `HTTP ${step.status}`),
            },
            step.retryAfter === undefined ? {} : { 'retry-after': String(step.retryAfter) },
          );
        case 'hang':
          await ctx.wait(2 ** 31 - 1);
          return;
        case 'slow-first-byte':
          await ctx.wait(step.ms);
          break;
        case 'cut-before-first-token':
        case 'cut-after-chunks':
          cut = true;
          break;
        case 'malformed-json':
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(`{"model":"${model.name}","embeddings":[[0.1,`);
          return;
        case 'stream-error':
        case 'base-resp':
          return sendJson(res, 500, {
            error:
              step.fault === 'stream-error'
                ? (step.message ?? 'llama runner process has terminated')
                : (step.statusMsg ?? 'upstream error'),
          });
      }
    } else if (step.delayMs) {
      await ctx.wait(step.delayMs);
    }
    if (ctx.closed) return;
    const payload =
      kind === 'embed'
        ? {
            model: body.model,
            embeddings: texts.map((text) => fakeEmbedding(text, dimensions)),
            total_duration: 14_143_917,
            load_duration: 1_019_500,
            prompt_eval_count: texts.reduce((sum, text) => sum + countTokens(text), 0),
          }
        : {
            embedding:
              texts[0] === undefined || texts[0] === '' ? [] : fakeEmbedding(texts[0], dimensions).map((v) => v * 20),
          };
    if (!cut) return sendJson(res, 200, payload);
    const text = JSON.stringify(payload);
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    cutConnection(res);
  }

  private async generate(ctx: HandlerContext, kind: 'chat' | 'generate'): Promise<void> {
    const { res } = ctx;
    if (typeof ctx.body !== 'object' || ctx.body === null) {
      return sendJson(res, 400, { error: 'invalid character looking for beginning of value' });
    }
    const body = ctx.body as Record<string, unknown>;
    if (typeof body.model !== 'string' || body.model === '') return sendJson(res, 400, { error: 'model is required' });
    const model = this.find(body.model);
    if (!model) {
      return sendJson(res, 404, { error: `model "${body.model}" not found, try pulling it first` });
    }
    if (Array.isArray(body.tools) && body.tools.length > 0 && !model.capabilities.includes('tools')) {
      return sendJson(res, 400, { error: `registry.ollama.ai/library/${model.name} does not support tools` });
    }
    if (kind === 'chat' && body.messages !== undefined && !Array.isArray(body.messages)) {
      return sendJson(res, 400, { error: 'json: cannot unmarshal string into Go struct field ChatRequest.messages' });
    }
    this.loaded.set(model.name, Date.now());
    const info: ChatRequestInfo = { path: ctx.path, body, headers: ctx.req.headers, stream: body.stream !== false };
    const step = this.nextStep(info);
    if (isFault(step)) return this.fault(ctx, info, kind, step);
    return this.reply(ctx, info, kind, step);
  }

  private async fault(ctx: HandlerContext, info: ChatRequestInfo, kind: 'chat' | 'generate', fault: Fault) {
    const { res } = ctx;
    const echo = (): Reply => ({ text: `echo: ${lastUserText(info.body.messages) || String(info.body.prompt ?? '')}` });
    switch (fault.fault) {
      case 'reset':
        ctx.req.socket.destroy();
        return;
      case 'status':
        return sendJson(
          res,
          fault.status,
          {
            error:
              fault.message ??
              (fault.status === 503
                ? 'server busy, please try again.  maximum pending requests exceeded'
                : `HTTP ${fault.status}`),
          },
          fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
        );
      case 'hang':
        await ctx.wait(2 ** 31 - 1);
        return;
      case 'slow-first-byte':
        return this.reply(ctx, info, kind, { ...(fault.reply ?? echo()), delayMs: fault.ms });
      case 'cut-before-first-token':
        return this.reply(ctx, info, kind, echo(), { cutAfterChunks: 0 });
      case 'cut-after-chunks':
        return this.reply(ctx, info, kind, fault.reply ?? echo(), { cutAfterChunks: fault.chunks });
      case 'malformed-json':
        res.writeHead(200, {
          'content-type': info.stream ? 'application/x-ndjson' : 'application/json; charset=utf-8',
        });
        res.end(`{"model":"${String(info.body.model)}","message":{"role":"assistant","content":"par\n`);
        return;
      case 'stream-error':
      case 'base-resp': {
        const message =
          fault.fault === 'stream-error'
            ? (fault.message ?? 'an error was encountered while running the model: unexpected EOF')
            : (fault.statusMsg ?? 'upstream error');
        if (!info.stream) return sendJson(res, 500, { error: message });
        const chunks = fault.fault === 'stream-error' ? (fault.chunks ?? 0) : 0;
        return this.reply(ctx, info, kind, echo(), { cutAfterChunks: chunks, errorMessage: message });
      }
    }
  }

  private async reply(
    ctx: HandlerContext,
    info: ChatRequestInfo,
    kind: 'chat' | 'generate',
    reply: Reply,
    interrupt: { cutAfterChunks?: number; errorMessage?: string } = {},
  ): Promise<void> {
    const { res } = ctx;
    if (reply.delayMs) await ctx.wait(reply.delayMs);
    if (ctx.closed) return;
    const body = info.body;
    const model = body.model as string;
    const createdAt = () => new Date().toISOString();
    const think = body.think === true || typeof body.think === 'string';
    const text =
      reply.reasoning !== undefined && !think
        ? `<think>\n${reply.reasoning}\n</think>\n\n${reply.text ?? ''}`
        : (reply.text ?? '');
    const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
      ...(call.id ? { id: call.id } : { id: `call_${++this.callCounter}` }),
      function: { index, name: call.name, arguments: parseArgs(call.arguments) },
    }));
    const promptCount =
      reply.usage?.promptTokens ??
      (kind === 'chat' ? promptTokens(body.messages) : countTokens(String(body.prompt ?? '')));
    const evalCount = reply.usage?.completionTokens ?? countTokens(text);
    const doneReason = reply.finishReason === 'length' ? 'length' : 'stop';
    const stats = {
      done: true,
      done_reason: doneReason,
      total_duration: 1_200_000_000,
      load_duration: 50_000_000,
      prompt_eval_count: promptCount,
      prompt_eval_duration: 100_000_000,
      eval_count: evalCount,
      eval_duration: 1_000_000_000,
    };
    const message = (content: string, extra: Record<string, unknown> = {}) =>
      kind === 'chat' ? { message: { role: 'assistant', content, ...extra } } : { response: content, ...extra };
    // Ollama (0.12.11 on) gives each generated token's logprob, top-level on each line, when `logprobs` is true.
    const topLogprobs = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
    const logprobs = (pieces: string[]) =>
      body.logprobs === true && pieces.length > 0
        ? {
            logprobs: fakeLogprobs(pieces, topLogprobs).map(({ top_logprobs, ...entry }) =>
              topLogprobs > 0 ? { ...entry, top_logprobs } : entry,
            ),
          }
        : {};

    if (!info.stream) {
      const payload = {
        model,
        created_at: createdAt(),
        ...message(text, {
          ...(kind === 'chat' && reply.reasoning !== undefined && think ? { thinking: reply.reasoning } : {}),
          ...(kind === 'chat' && toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        }),
        ...stats,
        ...(kind === 'generate' ? { context: [1, 2, 3] } : {}),
        ...logprobs(chunkText(text, reply.chunkSize)),
      };
      if (interrupt.cutAfterChunks !== undefined) {
        const raw = JSON.stringify(payload);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(raw),
        });
        res.write(raw.slice(0, Math.floor(raw.length / 2)));
        cutConnection(res);
        return;
      }
      return sendJson(res, 200, payload);
    }

    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    const lines: Record<string, unknown>[] = [];
    if (reply.reasoning !== undefined && think && kind === 'chat') {
      for (const piece of chunkText(reply.reasoning, reply.chunkSize)) {
        lines.push({
          model,
          created_at: createdAt(),
          message: { role: 'assistant', content: '', thinking: piece },
          done: false,
        });
      }
    }
    for (const piece of chunkText(text, reply.chunkSize))
      lines.push({ model, created_at: createdAt(), ...message(piece), done: false, ...logprobs([piece]) });
    if (kind === 'chat' && toolCalls.length > 0) {
      lines.push({ model, created_at: createdAt(), ...message('', { tool_calls: toolCalls }), done: false });
    }
    let sent = 0;
    for (const line of lines) {
      if (interrupt.cutAfterChunks !== undefined && sent >= interrupt.cutAfterChunks) break;
      if (reply.chunkDelayMs) await ctx.wait(reply.chunkDelayMs);
      if (ctx.closed) return;
      res.write(`${JSON.stringify(line)}\n`);
      sent++;
    }
    if (interrupt.errorMessage !== undefined) {
      res.end(`${JSON.stringify({ error: interrupt.errorMessage })}\n`);
      return;
    }
    if (interrupt.cutAfterChunks !== undefined) {
      cutConnection(res);
      return;
    }
    res.end(
      `${JSON.stringify({ model, created_at: createdAt(), ...message(''), ...stats, ...(kind === 'generate' ? { context: [1, 2, 3] } : {}) })}\n`,
    );
  }
}

function parseArgs(args: Record<string, unknown> | string): unknown {
  if (typeof args !== 'string') return args;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** `llama3.2:1b` → `llama`: the architecture name Ollama would report for common model names. */
function guessFamily(name: string): string {
  return /^[a-z]+/i.exec(name)?.[0]?.toLowerCase() ?? 'llama';
}
