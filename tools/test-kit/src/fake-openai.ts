import type { ServerResponse } from 'node:http';
import { fakeEmbedding, float32Base64 } from './embedding';
import { cutConnection, FakeUpstream, type HandlerContext, sendJson } from './fake-upstream';
import { fakeLogprobs } from './logprobs';
import { type ChatRequestInfo, type Fault, isFault, type Reply, type ScriptedToolCall } from './script';
import { chunkText, countTokens, lastUserText, promptTokens } from './text';

export interface FakeOpenAIOptions {
  /** Model ids the server knows (GET /models; others get 404 model_not_found). Default: MiniMax-M2, gpt-4o-mini. */
  models?: string[];
  /**
   * Embedding models (POST /embeddings) with their native vector length; listed by GET /models after the chat models.
   * Default: text-embedding-3-small (1536), text-embedding-3-large (3072), text-embedding-ada-002 (1536, no
   * `dimensions`).
   */
  embeddingModels?: Record<string, number>;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get 401. */
  apiKey?: string;
  port?: number;
}

const defaultEmbeddingModels: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/** OpenAI's answer to an input it cannot take. */
const invalidInput =
  "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";

const errorTypes: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Bad request' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'permission_denied', code: null, message: 'You are not allowed to access this resource.' },
  404: { type: 'invalid_request_error', code: 'not_found', message: 'Not found' },
  408: { type: 'timeout', code: null, message: 'Request timed out.' },
  409: { type: 'conflict', code: null, message: 'Conflict.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request.' },
  502: { type: 'server_error', code: null, message: 'Bad gateway.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

/**
 * A fake OpenAI server (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`): non-streaming and SSE streaming,
 * tool calls streamed as deltas by index, `n` choices, `logprobs`/`top_logprobs`, usage, MiniMax's `<think>` reasoning
 * and `base_resp` errors, embeddings (float or base64, `dimensions`) derived from the text (see `fakeEmbedding`), and
 * fault injection. Queued steps are taken by chat and embeddings requests alike, in order. `baseURL` is what an
 * OpenAI client takes.
 */
export class FakeOpenAI extends FakeUpstream {
  readonly models: string[];
  readonly embeddingModels: Readonly<Record<string, number>>;
  private readonly apiKey: string | undefined;
  private idCounter = 0;

  private constructor(options: FakeOpenAIOptions) {
    super((request) => ({ text: `echo: ${lastUserText(request.body.messages)}` }));
    this.models = options.models ?? ['MiniMax-M2', 'gpt-4o-mini'];
    this.embeddingModels = options.embeddingModels ?? defaultEmbeddingModels;
    this.apiKey = options.apiKey;
  }

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    return new FakeOpenAI(options).listen(options.port);
  }

  /** `http://127.0.0.1:PORT/v1` */
  get baseURL(): string {
    return `${this.origin}/v1`;
  }

  protected async handle(ctx: HandlerContext): Promise<void> {
    const { req, res, path } = ctx;
    if (this.apiKey && req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return this.error(res, 401, { message: 'Incorrect API key provided.' });
    }
    if (req.method === 'GET' && path.endsWith('/models')) {
      return sendJson(res, 200, {
        object: 'list',
        data: [...this.models, ...Object.keys(this.embeddingModels)].map((id) => ({
          id,
          object: 'model',
          created: 1_700_000_000,
          owned_by: 'fake',
        })),
      });
    }
    if (req.method === 'POST' && path.endsWith('/chat/completions')) return this.chat(ctx);
    if (req.method === 'POST' && path.endsWith('/embeddings')) return this.embeddings(ctx);
    return this.error(res, 404, { message: `Unknown request URL: ${req.method} ${path}.`, code: 'unknown_url' });
  }

  private async chat(ctx: HandlerContext): Promise<void> {
    const { res } = ctx;
    if (typeof ctx.body !== 'object' || ctx.body === null) {
      return this.error(res, 400, { message: 'We could not parse the JSON body of your request.' });
    }
    const body = ctx.body as Record<string, unknown>;
    if (!Array.isArray(body.messages)) {
      return this.error(res, 400, { message: "'messages' is a required property", param: 'messages' });
    }
    if (typeof body.model !== 'string' || !this.models.includes(body.model)) {
      return this.error(res, 404, {
        message: `The model \`${String(body.model)}\` does not exist or you do not have access to it.`,
        code: 'model_not_found',
      });
    }
    const invalid = invalidSampling(body);
    if (invalid) return this.error(res, 400, invalid);
    const info: ChatRequestInfo = { path: ctx.path, body, headers: ctx.req.headers, stream: body.stream === true };
    const step = this.nextStep(info);
    if (isFault(step)) return this.fault(ctx, info, step);
    return this.reply(ctx, info, step);
  }

  private async embeddings(ctx: HandlerContext): Promise<void> {
    const { res } = ctx;
    if (typeof ctx.body !== 'object' || ctx.body === null) {
      return this.error(res, 400, { message: 'We could not parse the JSON body of your request.' });
    }
    const body = ctx.body as Record<string, unknown>;
    if (typeof body.model !== 'string') {
      return this.error(res, 400, { message: 'you must provide a model parameter', param: 'model' });
    }
    const native = this.embeddingModels[body.model];
    if (native === undefined) {
      return this.error(res, 404, {
        message: `The model \`${body.model}\` does not exist or you do not have access to it.`,
        code: 'model_not_found',
      });
    }
    const inputs = embeddingInputs(body.input);
    if (!inputs) return this.error(res, 400, { message: invalidInput, param: 'input' });
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      return this.error(res, 400, {
        message: `Invalid value for 'encoding_format': expected 'float' or 'base64', got '${String(format)}'.`,
        param: 'encoding_format',
      });
    }
    let dimensions = native;
    if (body.dimensions !== undefined && body.dimensions !== null) {
      if (body.model === 'text-embedding-ada-002') {
        return this.error(res, 400, {
          message: 'This model does not support specifying dimensions.',
          param: 'dimensions',
        });
      }
      if (
        !Number.isInteger(body.dimensions) ||
        (body.dimensions as number) < 1 ||
        (body.dimensions as number) > native
      ) {
        return this.error(res, 400, {
          message: `Invalid value for 'dimensions' = ${String(body.dimensions)}. Must be an integer between 1 and ${native}.`,
          param: 'dimensions',
        });
      }
      dimensions = body.dimensions as number;
    }
    const info: ChatRequestInfo = { path: ctx.path, body, headers: ctx.req.headers, stream: false };
    const step = this.nextStep(info);
    let cut = false;
    if (isFault(step)) {
      switch (step.fault) {
        case 'reset':
          ctx.req.socket.destroy();
          return;
        case 'status':
          return this.error(res, step.status, {
            message: step.message,
            code: step.code,
            headers: step.retryAfter === undefined ? {} : { 'retry-after': String(step.retryAfter) },
          });
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
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,');
          return;
        case 'stream-error':
          return this.error(res, 500, { message: step.message });
        case 'base-resp':
          return sendJson(res, 200, {
            vectors: null,
            base_resp: {
              status_code: step.statusCode ?? 1002,
              status_msg: step.statusMsg ?? 'rate limit exceeded(RPM)',
            },
          });
      }
    } else if (step.delayMs) {
      await ctx.wait(step.delayMs);
    }
    if (ctx.closed) return;
    const tokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
    const payload = {
      object: 'list',
      data: inputs.map((text, index) => {
        const vector = fakeEmbedding(text, dimensions);
        return { object: 'embedding', index, embedding: format === 'base64' ? float32Base64(vector) : vector };
      }),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
    if (!cut) return sendJson(res, 200, payload);
    const text = JSON.stringify(payload);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    cutConnection(res);
  }

  private async fault(ctx: HandlerContext, info: ChatRequestInfo, fault: Fault): Promise<void> {
    const { res } = ctx;
    const echo = (): Reply => ({ text: `echo: ${lastUserText(info.body.messages)}` });
    switch (fault.fault) {
      case 'reset':
        ctx.req.socket.destroy();
        return;
      case 'status':
        return this.error(res, fault.status, {
          message: fault.message,
          code: fault.code,
          headers: fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
        });
      case 'hang':
        await ctx.wait(2 ** 31 - 1);
        return;
      case 'slow-first-byte':
        return this.reply(ctx, info, { ...(fault.reply ?? echo()), delayMs: fault.ms });
      case 'cut-before-first-token':
        return this.reply(ctx, info, echo(), { cutAfterChunks: 0 });
      case 'cut-after-chunks':
        return this.reply(ctx, info, fault.reply ?? echo(), { cutAfterChunks: fault.chunks });
      case 'malformed-json':
        if (!info.stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":');
          return;
        }
        this.startStream(res);
        res.write('data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"par\n\n');
        res.end('data: [DONE]\n\n');
        return;
      case 'stream-error': {
        const message = fault.message ?? 'The server had an error while processing your request.';
        if (!info.stream) return this.error(res, 500, { message });
        return this.reply(ctx, info, echo(), { cutAfterChunks: fault.chunks ?? 0, errorMessage: message });
      }
      case 'base-resp':
        return sendJson(res, 200, {
          id: '',
          choices: null,
          created: Math.floor(Date.now() / 1000),
          model: info.body.model,
          object: 'chat.completion',
          base_resp: {
            status_code: fault.statusCode ?? 1002,
            status_msg: fault.statusMsg ?? 'rate limit exceeded(RPM)',
          },
        });
    }
  }

  private async reply(
    ctx: HandlerContext,
    info: ChatRequestInfo,
    reply: Reply,
    interrupt: { cutAfterChunks?: number; errorMessage?: string } = {},
  ): Promise<void> {
    const { res } = ctx;
    if (reply.delayMs) await ctx.wait(reply.delayMs);
    if (ctx.closed) return;
    const body = info.body;
    const id = `chatcmpl-${++this.idCounter}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model as string;
    const split = body.reasoning_split === true;
    const toolCalls = (reply.toolCalls ?? []).map((call, index) => normaliseCall(call, index, this.idCounter));
    const finishReason = reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
    const content =
      reply.reasoning !== undefined && !split
        ? `<think>\n${reply.reasoning}\n</think>\n\n${reply.text ?? ''}`
        : (reply.text ?? '');
    const usage = {
      prompt_tokens: reply.usage?.promptTokens ?? promptTokens(body.messages),
      completion_tokens: reply.usage?.completionTokens ?? countTokens(content),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const reasoningDetails =
      reply.reasoning !== undefined && split
        ? [
            {
              type: 'reasoning.text',
              id: 'reasoning-text-1',
              format: 'MiniMax-response-v1',
              index: 0,
              text: reply.reasoning,
            },
          ]
        : undefined;

    const wantLogprobs = body.logprobs === true;
    const topLogprobs = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
    const logprobsOf = (pieces: string[]) =>
      wantLogprobs ? { content: fakeLogprobs(pieces, topLogprobs), refusal: null } : null;

    if (!info.stream) {
      const n = typeof body.n === 'number' ? body.n : 1;
      const messageFor = (text: string) => ({
        role: 'assistant',
        content: toolCalls.length > 0 && text === '' ? null : text,
        ...(reasoningDetails ? { reasoning_details: reasoningDetails } : {}),
        ...(toolCalls.length > 0
          ? {
              tool_calls: toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.args },
              })),
            }
          : {}),
      });
      const texts = Array.from({ length: n }, (_, i) => (i === 0 ? content : (reply.choiceTexts?.[i - 1] ?? content)));
      // Scripted usage stands as given; otherwise every choice's text counts, as OpenAI bills n choices.
      if (!reply.usage) {
        usage.completion_tokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      }
      const payload = {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: texts.map((text, index) => ({
          index,
          message: messageFor(text),
          logprobs: logprobsOf(chunkText(text, reply.chunkSize)),
          finish_reason: finishReason,
        })),
        usage,
      };
      if (interrupt.cutAfterChunks !== undefined) {
        const text = JSON.stringify(payload);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        cutConnection(res);
        return;
      }
      return sendJson(res, 200, payload);
    }

    const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [
          {
            index: 0,
            delta,
            logprobs: typeof delta.content === 'string' && delta.content !== '' ? logprobsOf([delta.content]) : null,
            finish_reason: finish,
          },
        ],
      })}\n\n`;
    this.startStream(res);
    res.write(frame({ role: 'assistant', content: '' }));
    const deltas: Record<string, unknown>[] = [];
    if (reasoningDetails) {
      for (const piece of chunkText(reply.reasoning ?? '', reply.chunkSize)) {
        deltas.push({ reasoning_details: [{ ...reasoningDetails[0], text: piece }] });
      }
    }
    for (const piece of chunkText(content, reply.chunkSize)) deltas.push({ content: piece });
    toolCalls.forEach((call, index) => {
      deltas.push({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      });
      for (const piece of chunkText(call.args, 8))
        deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
    });
    let sent = 0;
    for (const delta of deltas) {
      if (interrupt.cutAfterChunks !== undefined && sent >= interrupt.cutAfterChunks) break;
      if (reply.chunkDelayMs) await ctx.wait(reply.chunkDelayMs);
      if (ctx.closed) return;
      res.write(frame(delta));
      sent++;
    }
    if (interrupt.errorMessage !== undefined) {
      res.end(
        `data: ${JSON.stringify({ error: { message: interrupt.errorMessage, type: 'server_error', code: null } })}\n\n`,
      );
      return;
    }
    if (interrupt.cutAfterChunks !== undefined) {
      cutConnection(res);
      return;
    }
    res.write(frame({}, finishReason));
    const options = body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage) {
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
  }

  private startStream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
  }

  private error(
    res: ServerResponse,
    status: number,
    options: { message?: string; code?: string; param?: string; headers?: Record<string, string> },
  ): void {
    const defaults = errorTypes[status] ?? { type: 'server_error', code: null, message: `HTTP ${status}` };
    sendJson(
      res,
      status,
      {
        error: {
          message: options.message ?? defaults.message,
          type: defaults.type,
          param: options.param ?? null,
          code: options.code ?? defaults.code,
        },
      },
      options.headers,
    );
  }
}

function normaliseCall(call: ScriptedToolCall, index: number, requestId: number) {
  return {
    id: call.id ?? `call_${requestId}_${index}`,
    name: call.name,
    args: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  };
}

/** The input of an embeddings request as texts (token arrays as their numbers), or undefined when OpenAI refuses it. */
function embeddingInputs(input: unknown): string[] | undefined {
  const items = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined;
  if (!items || items.length === 0 || items.length > 2048) return undefined;
  // A list of token ids is one input; a list of such lists is several.
  if (items.every((item) => typeof item === 'number')) return [items.join(' ')];
  const texts: string[] = [];
  for (const item of items) {
    if (typeof item === 'string' && item !== '') texts.push(item);
    else if (Array.isArray(item) && item.length > 0 && item.every((t) => typeof t === 'number'))
      texts.push(item.join(' '));
    else return undefined;
  }
  return texts;
}

/** OpenAI's 400 for an out-of-range `n`, or `top_logprobs` without `logprobs: true` or above 20. */
function invalidSampling(body: Record<string, unknown>): { message: string; param: string } | undefined {
  if (
    body.n !== undefined &&
    body.n !== null &&
    (!Number.isInteger(body.n) || (body.n as number) < 1 || (body.n as number) > 128)
  ) {
    return { message: `Invalid value for 'n': expected an integer between 1 and 128.`, param: 'n' };
  }
  if (body.top_logprobs === undefined || body.top_logprobs === null) return undefined;
  if (!Number.isInteger(body.top_logprobs) || (body.top_logprobs as number) < 0 || (body.top_logprobs as number) > 20) {
    return {
      message: `Invalid value for 'top_logprobs': expected an integer between 0 and 20.`,
      param: 'top_logprobs',
    };
  }
  if (body.logprobs !== true) {
    return { message: "Invalid value for 'top_logprobs': 'logprobs' must be set to true.", param: 'top_logprobs' };
  }
  return undefined;
}
