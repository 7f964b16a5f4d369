import { z } from 'zod';
import { ensembleStrategies } from '../ensembles/ensemble-config';
import type { RouterResponse } from '../router-types';
import { CacheError } from './cache-error';

const usage = z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() });
const errorInfo = z.object({ code: z.string(), message: z.string(), fix: z.string().optional() });
const topLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).optional() });

const callTrace = z.object({
  member: z.string(),
  model: z.string(),
  status: z.enum(['answered', 'failed', 'cancelled', 'not-started']),
  sample: z.number().optional(),
  answer: z.string().optional(),
  extracted: z.string().optional(),
  answeredBy: z.string().optional(),
  latencyMs: z.number(),
  firstTokenMs: z.number().optional(),
  usage: usage.optional(),
  costUsd: z.number().optional(),
  error: errorInfo.optional(),
});

const decision = z.discriminatedUnion('strategy', [
  z.object({
    strategy: z.literal('vote'),
    index: z.number(),
    winner: z.string(),
    votes: z.number(),
    answers: z.number(),
    tally: z.array(z.object({ answer: z.string(), votes: z.number() })),
  }),
  z.object({
    strategy: z.literal('judge'),
    index: z.number(),
    choice: z.number().optional(),
    reason: z.string(),
    by: z.enum(['json', 'regex', 'single-candidate', 'judge-failed']),
    candidates: z.number(),
  }),
  z.object({
    strategy: z.literal('fuse'),
    index: z.number().optional(),
    by: z.enum(['fuser', 'single-candidate', 'fuser-failed']),
    candidates: z.number(),
    reason: z.string().optional(),
  }),
  z.object({
    strategy: z.literal('race'),
    index: z.number(),
    hedges: z.array(z.object({ index: z.number(), afterMs: z.number() })),
  }),
]);

/** A `RouterResponse` as the cache stores it (JSON): what a hit may be served from. */
const cachedResponseSchema: z.ZodType<RouterResponse> = z.object({
  content: z.string(),
  toolCalls: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      arguments: z.record(z.string(), z.unknown()),
      rawArguments: z.string(),
    }),
  ),
  reasoning: z.string().optional(),
  usage,
  finishReason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'error', 'other']),
  model: z.string(),
  logprobs: z.array(topLogprob.extend({ top: z.array(topLogprob) })).optional(),
  provider: z.string(),
  attempts: z.array(
    z.object({
      provider: z.string(),
      model: z.string(),
      ok: z.boolean(),
      error: errorInfo.optional(),
      ms: z.number(),
      skipped: z.boolean().optional(),
      lastResort: z.boolean().optional(),
    }),
  ),
  cached: z.boolean().optional(),
  compacted: z
    .object({ droppedMessages: z.number(), estimatedTokens: z.number(), contextLength: z.number() })
    .optional(),
  ensemble: z
    .object({
      name: z.string(),
      strategy: z.enum(ensembleStrategies),
      members: z.array(callTrace),
      judge: callTrace.optional(),
      decision,
      usage,
      costUsd: z.number().optional(),
      latencyMs: z.number(),
    })
    .optional(),
});

/**
 * A stored answer read back (`text`, the JSON the cache wrote): the answer, or a CacheError `ENTRY_INVALID` when it is
 * not one — corrupt, truncated, or written by another program or version under the same key. `where` names the entry
 * in the message.
 */
export function readCachedResponse(text: string, where: string): RouterResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw invalidEntry(where, 'it is not JSON', cause);
  }
  const parsed = cachedResponseSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw invalidEntry(where, `${path}${issue?.message ?? 'not an answer'}`, parsed.error);
}

function invalidEntry(where: string, why: string, cause: unknown): CacheError {
  return new CacheError({
    code: 'ENTRY_INVALID',
    message: `the response cache's entry ${where} is not a stored answer (${why}): a miss, and deleted`,
    fix: 'nothing to do if it happens once; if it recurs, check that nothing else writes under router.cache.redis_key_prefix (or into router.cache.path)',
    cause,
  });
}
