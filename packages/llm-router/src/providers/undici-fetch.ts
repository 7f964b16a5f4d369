import { Readable } from 'node:stream';
import { type Dispatcher, request, fetch as undiciFetch } from 'undici';

/** Statuses whose responses have no body (the Response constructor refuses one). */
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/**
 * A `fetch` for the SDK clients (openai, ollama) that sends requests with `undici.request` on the given dispatcher and
 * wraps the answer in a standard `Response`. Same requests and responses as `fetch`, without the WHATWG fetch
 * machinery, which costs about twice the CPU per call (see bench/router.bench.ts) — the difference matters to a
 * gateway. Bodies other than strings and bytes (streams, forms), which the chat APIs never send, go through undici's
 * `fetch` on the same dispatcher. Redirects are followed by the dispatcher, if it is composed to.
 */
export function createUndiciFetch(dispatcher: Dispatcher): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const body = init.body;
    if (input instanceof Request || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) {
      return undiciFetch(input as never, { ...(init as object), dispatcher } as never) as unknown as Response;
    }
    const response = await request(input, {
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: headerRecord(init.headers),
      body: body ?? null,
      signal: init.signal ?? null,
      dispatcher,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    }
    if (nullBodyStatuses.has(response.statusCode)) {
      response.body.resume();
      return new Response(null, { status: response.statusCode, headers });
    }
    const stream = Readable.toWeb(response.body) as ReadableStream<Uint8Array>;
    return new Response(stream, { status: response.statusCode, headers });
  }) as typeof fetch;
}
