import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyCheck } from '../api-key';
import { keyFrom } from '../api-key';
import { GatewayError } from '../errors';
import type { ModelCatalog } from '../model-catalog';
import { onServedUsage } from './served-usage';
import type { KeyRecord, Reservation } from './store';
import type { VirtualKeys } from './virtual-keys';

/**
 * Who a request authenticated as: the master key, a virtual key, or nobody (an open loopback gateway). `cacheScope` is
 * the caller's tenant in the router's response cache: `key:<id>` for a virtual key, `master:<digest of the key>` for
 * the master key (gateways with different master keys never share entries in one Redis).
 */
type Caller =
  | { kind: 'master'; cacheScope: string }
  | { kind: 'virtual'; record: KeyRecord; cacheScope: string }
  | { kind: 'anonymous' };

const callerSlot = Symbol.for('unity.gateway.caller');
type WithCaller = FastifyRequest & { [callerSlot]?: Caller };

export const callerOf = (request: FastifyRequest): Caller =>
  (request as WithCaller)[callerSlot] ?? { kind: 'anonymous' };

/** The endpoints whose requests go to a model: each is admitted against its key's limits. */
const modelEndpoints = new Set([
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/responses',
  '/v1/messages',
  '/v1/embeddings',
  '/api/chat',
  '/api/generate',
  '/api/embed',
  '/api/embeddings',
]);
const embeddingEndpoints = new Set(['/v1/embeddings', '/api/embed', '/api/embeddings']);

/** What a virtual key reaches: the model endpoints, the model listings and run reports; the rest is the master key's. */
function virtualKeyMayReach(method: string, path: string): boolean {
  if (modelEndpoints.has(path) || path === '/v1/messages/count_tokens') return method === 'POST';
  // A run using the gateway's models may report itself to it (`RunReporter`); reading the runs is the master key's.
  if (/^\/api\/runs\/[^/]+\/events$/.test(path)) return method === 'POST';
  if (path === '/api/show') return method === 'POST';
  return method === 'GET' && (path.startsWith('/v1/models') || ['/api/tags', '/api/ps', '/api/version'].includes(path));
}

const pathOf = (url: string) => url.split('?')[0] ?? '';

interface KeyAuthOptions {
  master: ApiKeyCheck | undefined;
  keys: VirtualKeys | undefined;
  catalog: ModelCatalog;
  /** Output tokens reserved for a request that sets no maximum (`server.estimate_output_tokens`). */
  estimateOutputTokens: number;
  /** Skip the check for this request (a browser preflight the CORS plugin answers). */
  skip?: (request: FastifyRequest) => boolean;
  /** A settled request: for the live feed and the dashboard's spend panel. */
  onSettled?: (event: { keyId: string; name: string; model: string | undefined; tokens: number }) => void;
}

const unauthorized = () =>
  new GatewayError({
    code: 'UNAUTHORIZED',
    status: 401,
    message: 'this gateway requires an API key',
    fix: 'send Authorization: Bearer <key> (or x-api-key, or ?api_key= for the dashboard)',
  });

/**
 * The one authentication hook of every endpoint: the master key (`server.api_key`) passes everything; a virtual key
 * reaches the model endpoints and listings (401 when unknown, expired or revoked; 403 elsewhere); no key passes only
 * on a gateway with neither a master key nor any virtual key. Then, once a model endpoint's body is parsed, its key
 * admits it (model list, rpm, tpm, budget reservation) and settles it when the response closes.
 */
export function registerKeyAuth(app: FastifyInstance, options: KeyAuthOptions): void {
  const { master, keys } = options;
  if (!master && !keys) return;
  // One master key: its caller (and the digest in its cache scope) is made once, at its first request.
  let masterCaller: Caller | undefined;
  app.addHook('onRequest', async (request) => {
    if (options.skip?.(request)) return;
    const path = pathOf(request.url);
    if (path === '/healthz') return;
    if (master?.accepts(request.headers, request.url)) {
      masterCaller ??= { kind: 'master', cacheScope: `master:${scopeDigest(keyFrom(request.headers, request.url))}` };
      (request as WithCaller)[callerSlot] = masterCaller;
      return;
    }
    const secret = keyFrom(request.headers, request.url);
    if (keys && secret?.startsWith('uk-')) {
      const record = await keys.authenticate(secret);
      if (!virtualKeyMayReach(request.method, path)) {
        throw new GatewayError({
          code: 'FORBIDDEN',
          status: 403,
          message: `a virtual key ("${record.name}") reaches the model endpoints only, not ${request.method} ${path}`,
          fix: path.startsWith('/admin/')
            ? 'use the master key (server.api_key) for the admin API'
            : 'use the master key',
          openai: { type: 'permission_error', code: 'forbidden' },
        });
      }
      (request as WithCaller)[callerSlot] = { kind: 'virtual', record, cacheScope: `key:${record.id}` };
      return;
    }
    // The admin routes refuse by themselves, with the fix, when there is no master key.
    if (!master && path.startsWith('/admin/')) return;
    if (master || (keys?.anyKeys && virtualKeyMayReach(request.method, path))) {
      if (secret !== undefined && keys && !master) await keys.authenticate(secret);
      throw unauthorized();
    }
  });

  if (!keys) return;
  app.addHook('preHandler', async (request, reply) => {
    const caller = callerOf(request);
    const path = pathOf(request.url);
    if (caller.kind !== 'virtual' || !modelEndpoints.has(path)) return;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const requested = typeof body.model === 'string' ? body.model : '';
    let chain: readonly string[] = [];
    if (!embeddingEndpoints.has(path)) {
      try {
        chain = options.catalog.resolve(requested).chain ?? [];
      } catch {
        // unknown model: the route answers 404 (after the key's model list is checked)
      }
    }
    const reservation: Reservation = await keys.admit(caller.record, {
      model: requested,
      chain,
      inputTokens: Math.ceil(Number(request.headers['content-length'] ?? JSON.stringify(body).length) / 4),
      outputTokens: embeddingEndpoints.has(path) ? 0 : maxOutputOf(body, options.estimateOutputTokens),
    });
    onServedUsage(reply.raw, (served) => {
      void keys
        .settle(reservation, served ?? { model: undefined, inputTokens: 0, outputTokens: 0 })
        .then(() =>
          options.onSettled?.({
            keyId: caller.record.id,
            name: caller.record.name,
            model: served?.model,
            tokens: (served?.inputTokens ?? 0) + (served?.outputTokens ?? 0),
          }),
        )
        .catch(() => undefined);
    });
  });
}

/** A short digest of the master key, for its cache scope. */
function scopeDigest(key: string | undefined): string {
  return createHash('sha256')
    .update(key ?? '')
    .digest('hex')
    .slice(0, 16);
}

/** The most output tokens a request may produce (every protocol's field), times its samples; else the default. */
function maxOutputOf(body: Record<string, unknown>, fallback: number): number {
  const options = (body.options ?? {}) as Record<string, unknown>;
  const candidates = [body.max_completion_tokens, body.max_tokens, body.max_output_tokens, options.num_predict];
  const max = candidates.find((v): v is number => typeof v === 'number' && v > 0) ?? fallback;
  const n = typeof body.n === 'number' && body.n > 1 ? body.n : 1;
  return max * n;
}
