import { createHash } from 'node:crypto';

/** One generated token's log probability, as OpenAI (`choices[].logprobs.content[]`) and Ollama (`logprobs[]`) send it. */
interface FakeTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const bytesOf = (token: string) => [...Buffer.from(token, 'utf8')];

/**
 * Deterministic log probabilities for generated tokens (the fakes' stream pieces): each token's logprob is derived
 * from its text (in (-2, 0)), and `top` alternatives follow it in decreasing order, the token itself first, as the real
 * services list them.
 */
export function fakeLogprobs(tokens: readonly string[], top: number): FakeTokenLogprob[] {
  return tokens.map((token) => {
    const logprob = -((createHash('sha256').update(token).digest().readUInt16LE(0) % 1999) + 1) / 1000;
    const alternatives = Array.from({ length: top }, (_, k) => {
      const alt = k === 0 ? token : `${token.trimEnd()}#${k}`;
      return { token: alt, logprob: k === 0 ? logprob : logprob - k, bytes: bytesOf(alt) };
    });
    return { token, logprob, bytes: bytesOf(token), top_logprobs: alternatives };
  });
}
