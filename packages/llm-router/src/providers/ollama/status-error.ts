import type { IncomingHttpHeaders } from 'node:http';
import { ProviderError } from '../../errors';
import { codeForStatus, type FailureContext, httpStatusError } from '../http-errors';
import { headerSource } from '../http-transport';

const toolsFix = 'use a model with tool support (e.g. qwen2.5-coder) for requests with tools';

/**
 * A ProviderError for an HTTP error status from Ollama, quoting its `{"error": "..."}` body (or the text);
 * "does not support tools" is UNSUPPORTED. `text` is undefined when the body could not be read.
 */
export function ollamaStatusError(
  ctx: FailureContext,
  status: number,
  headers: IncomingHttpHeaders,
  text: string | undefined,
): ProviderError {
  let message: string | undefined;
  if (text !== undefined) {
    try {
      const json = JSON.parse(text) as { error?: unknown };
      message = typeof json.error === 'string' ? json.error : text;
    } catch {
      message = text.trim() || undefined;
    }
  }
  const code =
    status === 400 && message && /does not support tools/i.test(message) ? 'UNSUPPORTED' : codeForStatus(status);
  const error = httpStatusError(ctx, status, message, headerSource(headers), code);
  if (code !== 'UNSUPPORTED') return error;
  return new ProviderError({
    code,
    message: error.message,
    fix: toolsFix,
    provider: ctx.provider,
    model: ctx.model,
    status,
  });
}

/** The error for tools offered to a model that has none (per `/api/show`), before anything is sent. */
export function toolsUnsupported(ctx: FailureContext): ProviderError {
  return new ProviderError({
    code: 'UNSUPPORTED',
    message: `model ${ctx.model} on ${ctx.endpoint} does not support tools (per /api/show), and tools were offered`,
    fix: toolsFix,
    provider: ctx.provider,
    model: ctx.model,
  });
}
