import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ChatModel, type ChatRequest, type ChatResponse, canonicalJson, sha256Hex } from '@unity/core';
import { z } from 'zod';
import { clip } from './command-evaluator';
import { EvolutionError } from './errors';

export type CassetteMode = 'record' | 'replay';

export interface CassetteOptions {
  mode: CassetteMode;
  /** A JSONL file: one `{key, scope, response}` per recorded call. */
  path: string;
}

const entrySchema = z.object({
  key: z.string(),
  scope: z.string(),
  response: z.object({
    content: z.string(),
    toolCalls: z.array(z.any()).default([]),
    reasoning: z.string().optional(),
    usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() }),
    finishReason: z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'error', 'other']),
    model: z.string(),
  }),
});

/** The key a request is recorded under: a SHA-256 of its scope and its content (the abort signal aside). */
export function cassetteKey(scope: string, request: ChatRequest): string {
  const { signal: _signal, ...content } = request;
  return sha256Hex(canonicalJson({ scope, ...content }));
}

/**
 * Record/replay of chat calls. In `record` mode each call goes to the real model and its reply is appended to the
 * cassette (one line, one write); in `replay` mode replies come from the cassette — the n-th identical request gets the
 * n-th recorded reply — and a request never recorded fails the run with `CASSETTE_MISS`.
 */
export class Cassette {
  private readonly recorded = new Map<string, ChatResponse[]>();
  private readonly served = new Map<string, number>();

  private constructor(readonly options: CassetteOptions) {}

  static open(options: CassetteOptions): Cassette {
    const cassette = new Cassette(options);
    if (options.mode === 'replay') cassette.load();
    else mkdirSync(dirname(options.path), { recursive: true });
    return cassette;
  }

  /** A model that records to, or replays from, this cassette. `scope` keeps coder and judge calls apart. */
  wrap(model: ChatModel | undefined, scope: string): ChatModel {
    return {
      chat: async (request) => {
        const key = cassetteKey(scope, request);
        if (this.options.mode === 'replay') return this.replay(key, scope, request);
        if (!model) {
          throw new EvolutionError({
            code: 'INVALID_OPTIONS',
            message: `recording the cassette ${this.options.path} needs a real ${scope} model`,
          });
        }
        const response = await model.chat(request);
        const { content, toolCalls, reasoning, usage, finishReason } = response;
        const entry = {
          key,
          scope,
          response: { content, toolCalls, reasoning, usage, finishReason, model: response.model },
        };
        appendFileSync(this.options.path, `${JSON.stringify(entry)}\n`);
        return response;
      },
    };
  }

  private replay(key: string, scope: string, request: ChatRequest): ChatResponse {
    const replies = this.recorded.get(key) ?? [];
    const n = this.served.get(key) ?? 0;
    const reply = replies[n];
    if (!reply) {
      const last = request.messages.at(-1);
      throw new EvolutionError({
        code: 'CASSETTE_MISS',
        message: `the cassette ${this.options.path} has no ${n === 0 ? '' : `${n + 1}th `}reply for this ${scope} request (key ${key.slice(0, 12)}; last message: "${clip(last?.content ?? '', 160)}")`,
        fix: 'record the cassette again with the same seed, strategies and baseline (mode "record"), or run without replay',
      });
    }
    this.served.set(key, n + 1);
    return structuredClone(reply);
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.options.path, 'utf8');
    } catch (error) {
      throw new EvolutionError({
        code: 'FILE_INVALID',
        message: `cannot read the cassette ${this.options.path}: ${(error as Error).message}`,
        fix: 'record it first (mode "record"), or check the path',
        cause: error,
      });
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let entry: z.infer<typeof entrySchema>;
      try {
        entry = entrySchema.parse(JSON.parse(line));
      } catch (error) {
        // A torn last line (a recording killed mid-write) is dropped; anything else is an error.
        if (i === lines.length - 1) return;
        throw new EvolutionError({
          code: 'FILE_INVALID',
          message: `${this.options.path}:${i + 1}: not a cassette entry (${(error as Error).message.split('\n')[0]})`,
          cause: error,
        });
      }
      const list = this.recorded.get(entry.key) ?? [];
      list.push(entry.response as ChatResponse);
      this.recorded.set(entry.key, list);
    });
  }
}
