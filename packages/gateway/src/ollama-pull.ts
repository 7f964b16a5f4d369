import { randomUUID } from 'node:crypto';
import type { Redactor } from '@unity/core';
import { resolvePullSource } from '@unity/llm-router/model-store';
import type { FastifyReply } from 'fastify';
import { GatewayError } from './errors';
import type { GatewayPullProgress, GatewayRouter } from './gateway-router';
import type { ModelCatalog } from './model-catalog';
import { ollamaErrorBody } from './ollama-wire';
import { ResponseStream } from './response-stream';

const storePrefix = 'llamacpp/';

/**
 * The model string to pull for a name an Ollama client sent, refusing what the gateway would not serve afterwards:
 * `llamacpp/<https://…|hf:…>` when `llamacpp/<its store name>` is served; an Ollama name (`llama3.2`,
 * `ollama_chat/llama3.2`, a served name standing for one Ollama model) when it is served.
 */
export function pullTarget(name: string, catalog: ModelCatalog): string {
  if (name.startsWith(storePrefix) && /^(hf:|https?:\/\/)/.test(name.slice(storePrefix.length))) {
    let fileName: string;
    try {
      fileName = resolvePullSource(name.slice(storePrefix.length)).fileName;
    } catch (error) {
      throw new GatewayError({
        code: 'INVALID_REQUEST',
        status: 400,
        param: 'model',
        message: (error as Error).message,
      });
    }
    catalog.resolve(`${storePrefix}${fileName.replace(/\.gguf$/i, '')}`);
    return name;
  }
  const model = catalog.resolve(name);
  const modelString = model.route.model;
  if (!modelString || modelString.startsWith(storePrefix)) {
    throw new GatewayError({
      code: 'INVALID_REQUEST',
      status: 400,
      param: 'model',
      message: modelString
        ? `"${name}" is a model store name: /api/pull needs where to fetch it from`
        : `"${name}" stands for a chain of models (${(model.chain ?? []).join(', ') || 'the router’s default chain'}), not one model to pull`,
      fix: modelString
        ? `pull llamacpp/hf:<owner>/<repo>/<file>.gguf or llamacpp/https://…/<file>.gguf`
        : 'pull one of its models by its name (e.g. ollama_chat/<tag>)',
    });
  }
  return modelString;
}

/** The HTTP status of a failed pull, from the router's error code. */
function statusOf(error: unknown): number {
  switch ((error as { code?: string } | null)?.code) {
    case 'BAD_REQUEST':
      return 400;
    case 'MODEL_NOT_FOUND':
      return 404;
    default:
      return 502;
  }
}

function asGatewayError(error: unknown, redactor: Redactor): GatewayError {
  if (GatewayError.isInstance(error)) return error;
  const e = error as { message?: string; fix?: string };
  return new GatewayError({
    code: 'UPSTREAM_FAILED',
    status: statusOf(error),
    message: redactor.text(e.message ?? String(error)),
    ...(e.fix ? { fix: redactor.text(e.fix) } : {}),
    cause: error,
  });
}

/**
 * Serve Ollama's POST /api/pull: the router's progress as NDJSON (the default), or only the last line with
 * `stream: false`. A failure before the first line is an HTTP error; after it, a final `{"error": …}` line, as Ollama
 * does. A client that goes away cancels the pull.
 */
export async function servePull(
  router: GatewayRouter,
  reply: FastifyReply,
  target: string,
  stream: boolean,
  redactor: Redactor,
): Promise<void> {
  const pull = router.pullModel;
  if (!pull) {
    throw new GatewayError({
      code: 'NOT_IMPLEMENTED',
      status: 501,
      message: 'this gateway’s router cannot pull models',
      fix: 'pull with `ollama pull` or `unity models pull`',
    });
  }
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client disconnected'));
  });
  const iterator = pull.call(router, target, controller.signal)[Symbol.asyncIterator]();
  const line = (value: unknown) => `${redactor.text(JSON.stringify(value))}\n`;
  let first: IteratorResult<GatewayPullProgress>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw asGatewayError(error, redactor);
  }
  reply.hijack();
  const id = randomUUID();
  if (!stream) {
    let last = first;
    try {
      while (!last.done) {
        const next = await iterator.next();
        if (next.done) break;
        last = next;
      }
    } catch (error) {
      const gatewayError = asGatewayError(error, redactor);
      const body = JSON.stringify(ollamaErrorBody(gatewayError));
      reply.raw.writeHead(gatewayError.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-request-id': id,
      });
      reply.raw.end(body);
      return;
    }
    reply.raw.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': id });
    reply.raw.end(line(last.done ? { status: 'success' } : last.value));
    return;
  }
  const out = new ResponseStream(reply.raw);
  out.start(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-request-id': id });
  let next = first;
  try {
    while (!next.done) {
      await out.write(line(next.value));
      if (out.clientGone) {
        await iterator.return?.();
        return;
      }
      next = await iterator.next();
    }
    out.end();
  } catch (error) {
    out.end(line(ollamaErrorBody(asGatewayError(error, redactor))));
  }
}
