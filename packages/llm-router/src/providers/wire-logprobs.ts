import type { TokenLogprob } from '@unity/core';
import { z } from 'zod';

const topLogprobSchema = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).nullish() });

/**
 * One token's log probability as OpenAI (`choices[].logprobs.content[]`) and Ollama (top-level `logprobs[]`, since
 * 0.12.11) both send it: the token, its log probability, its bytes, and the most likely alternatives.
 */
export const wireLogprobSchema = topLogprobSchema.extend({ top_logprobs: z.array(topLogprobSchema).nullish() });

type WireLogprob = z.infer<typeof wireLogprobSchema>;

export function toTokenLogprob(entry: WireLogprob): TokenLogprob {
  return {
    token: entry.token,
    logprob: entry.logprob,
    ...(entry.bytes ? { bytes: entry.bytes } : {}),
    top: (entry.top_logprobs ?? []).map((t) => ({
      token: t.token,
      logprob: t.logprob,
      ...(t.bytes ? { bytes: t.bytes } : {}),
    })),
  };
}
