import { cutConnection, FakeUpstream, type HandlerContext, sendJson } from './fake-upstream';
import { type ChatRequestInfo, type Fault, isFault, type Reply } from './script';
import { chunkText, countTokens, lastUserText, promptTokens } from './text';

export interface FakeOllamaModel {
  name: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
  /** Reported by /api/show as `<family>.context_length`. */
  contextLength?: number;
  /** Reported by /api/show; a chat with tools to a model without "tools" gets Ollama's 400. */
  capabilities?: string[];
  size?: number;
}

export interface FakeOllamaOptions {
  /** Pulled models (default: qwen2.5-coder:7b with tools, 32k context). */
  models?: FakeOllamaModel[];
  version?: string;
  port?: number;
}

export const defaultOllamaModel: Required<FakeOllamaModel> = {
  name: 'qwen2.5-coder:7b',
  family: 'qwen2',
  parameterSize: '7.6B',
  quantization: 'Q4_K_M',
  contextLength: 32_768,
  capabilities: ['completion', 'tools', 'insert'],
  size: 4_683_087_332,
};

const withTag = (name: string) => (name.includes(':') ? name : `${name}:latest`);

/**
 * A fake Ollama server speaking its REST API as the real one does: `/`, `/api/version`, `/api/tags`, `/api/ps`,
 * `/api/show` (capabilities, context length), `/api/chat` and `/api/generate` (NDJSON streaming by default, tool
 * arguments as objects, nanosecond durations), errors as `{"error": "..."}`, and fault injection.
 */
export class FakeOllama extends FakeUpstream {
  readonly models: Required<FakeOllamaModel>[];
  private readonly version: string;
  private readonly loaded = new Map<string, number>();
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
      case 'POST /api/chat':
      case 'POST /api/generate':
        return this.generate(ctx, path === '/api/chat' ? 'chat' : 'generate');
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
        [`${model.family}.embedding_length`]: 3584,
      },
      capabilities: model.capabilities,
      modified_at: '2025-11-01T10:00:00.000000000Z',
    });
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
      lines.push({ model, created_at: createdAt(), ...message(piece), done: false });
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
