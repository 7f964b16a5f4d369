import type { ServerResponse } from 'node:http';
import { cutConnection, FakeUpstream, type HandlerContext, sendJson } from './fake-upstream';
import { type ChatRequestInfo, type Fault, isFault, type Reply, type ScriptedToolCall } from './script';
import { chunkText, countTokens, lastUserText, promptTokens } from './text';

export interface FakeOpenAIOptions {
  /** Model ids the server knows (GET /models; others get 404 model_not_found). Default: MiniMax-M2, gpt-4o-mini. */
  models?: string[];
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get 401. */
  apiKey?: string;
  port?: number;
}

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
 * A fake OpenAI Chat Completions server (`/v1/chat/completions`, `/v1/models`): non-streaming and SSE streaming,
 * tool calls streamed as deltas by index, usage, MiniMax's `<think>` reasoning and `base_resp` errors, and fault
 * injection. `baseURL` is what an OpenAI client takes.
 */
export class FakeOpenAI extends FakeUpstream {
  readonly models: string[];
  private readonly apiKey: string | undefined;
  private idCounter = 0;

  private constructor(options: FakeOpenAIOptions) {
    super((request) => ({ text: `echo: ${lastUserText(request.body.messages)}` }));
    this.models = options.models ?? ['MiniMax-M2', 'gpt-4o-mini'];
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
        data: this.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
      });
    }
    if (req.method === 'POST' && path.endsWith('/chat/completions')) return this.chat(ctx);
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
    const info: ChatRequestInfo = { path: ctx.path, body, headers: ctx.req.headers, stream: body.stream === true };
    const step = this.nextStep(info);
    if (isFault(step)) return this.fault(ctx, info, step);
    return this.reply(ctx, info, step);
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

    if (!info.stream) {
      const message = {
        role: 'assistant',
        content: toolCalls.length > 0 && content === '' ? null : content,
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
      };
      const payload = {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
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
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
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
