import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyCheck } from '../api-key';
import { GatewayError } from '../errors';
import { validateBody } from '../validate-body';
import { callerOf } from './key-auth';
import type { VirtualKeys } from './virtual-keys';

/** `30d`, `12h`, `90m`, `45s`, `2w` → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 's'];
  return Number(match[1]) * unit;
}

const duration = z.string().refine((v) => parseDuration(v) !== undefined, {
  error: (issue) => `expected a duration such as 30d, 12h, 90m, got "${String(issue.input)}"`,
});

const createBody = z.strictObject({
  name: z.string().min(1).max(100),
  budget_usd: z.number().positive().optional(),
  budget_period: z.enum(['day', 'week', 'month', 'total']).optional(),
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  models: z.array(z.string().min(1)).optional(),
  expires: duration.optional(),
});

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const spendQuery = z.object({ key: z.string().optional(), from: day.optional(), to: day.optional() });

/**
 * The admin API, behind the master key (`server.api_key`): `POST /admin/keys` (the secret in the answer, once),
 * `GET /admin/keys`, `POST /admin/keys/{id}/revoke`, `POST /admin/keys/{id}/rotate`, `GET /admin/spend?key=&from=&to=`
 * (per key, model and day). Without a master key, or without virtual keys, every admin request is refused with the fix.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  options: { master: ApiKeyCheck | undefined; keys: VirtualKeys | undefined },
): void {
  const keys = (request: FastifyRequest): VirtualKeys => {
    if (!options.master) {
      throw new GatewayError({
        code: 'ADMIN_DISABLED',
        status: 403,
        message: 'the admin API is off: this gateway has no master key',
        fix: 'set server.api_key (or the variable named by server.api_key_env, UNITY_API_KEY by default) and restart; or use `unity keys` on this machine',
      });
    }
    // The auth hook lets only the master key through to here; say so again rather than trust the order of hooks.
    if (callerOf(request).kind !== 'master') {
      throw new GatewayError({ code: 'UNAUTHORIZED', status: 401, message: 'the admin API requires the master key' });
    }
    if (!options.keys) {
      throw new GatewayError({
        code: 'NOT_IMPLEMENTED',
        status: 501,
        message: 'this gateway was started without virtual keys',
      });
    }
    return options.keys;
  };

  app.post('/admin/keys', async (request, reply) => {
    const vk = keys(request);
    const body = validateBody(createBody, request.body, 'POST /admin/keys');
    const expiresInMs = body.expires === undefined ? undefined : parseDuration(body.expires);
    const created = await vk.create({
      name: body.name,
      ...(body.budget_usd !== undefined ? { budgetUsd: body.budget_usd } : {}),
      ...(body.budget_period !== undefined ? { budgetPeriod: body.budget_period } : {}),
      ...(body.rpm !== undefined ? { rpm: body.rpm } : {}),
      ...(body.tpm !== undefined ? { tpm: body.tpm } : {}),
      ...(body.models !== undefined ? { models: body.models } : {}),
      ...(expiresInMs !== undefined ? { expiresInMs } : {}),
    });
    reply.code(201).header('cache-control', 'no-store');
    return { key: created.key, ...created.record };
  });
  app.get('/admin/keys', async (request) => ({ keys: await keys(request).list() }));
  app.post<{ Params: { id: string } }>('/admin/keys/:id/revoke', async (request) =>
    keys(request).revoke(request.params.id),
  );
  app.post<{ Params: { id: string } }>('/admin/keys/:id/rotate', async (request, reply) => {
    const rotated = await keys(request).rotate(request.params.id);
    reply.header('cache-control', 'no-store');
    return { key: rotated.key, ...rotated.record };
  });
  app.get('/admin/spend', async (request) => {
    const vk = keys(request);
    const query = validateBody(spendQuery, request.query, 'GET /admin/spend');
    return vk.spend({
      ...(query.key !== undefined ? { keyId: query.key } : {}),
      ...(query.from !== undefined ? { fromDay: query.from } : {}),
      ...(query.to !== undefined ? { toDay: query.to } : {}),
    });
  });
}
