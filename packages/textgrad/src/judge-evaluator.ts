import type { ChatMessage, ChatModel, ChatResponse, PriceTable } from '@unity/core';
import { costUsdOf, describeError } from '@unity/core';
import { z } from 'zod';
import { clip } from './command-evaluator';
import { EvolutionError } from './errors';
import type { Evaluator } from './evaluator';

export interface JudgeEvaluatorOptions {
  model: ChatModel;
  /** What a good candidate is: the criteria and how to weigh them. */
  rubric: string;
  temperature?: number;
  maxOutputTokens?: number;
  /** Prices the judge's calls (US dollars per 1000 tokens, by model or `*`); without it they cost $0. */
  prices?: PriceTable;
}

const verdictSchema = z.object({
  score: z.number().min(0).max(100),
  feedback: z.string(),
});

const verdictJsonSchema = {
  type: 'object',
  properties: {
    score: { type: 'number', minimum: 0, maximum: 100, description: 'how well the candidate meets the rubric' },
    feedback: { type: 'string', description: 'what to improve, concretely' },
  },
  required: ['score', 'feedback'],
  additionalProperties: false,
};

/**
 * An LLM judge: asks the model to score the candidate 0–100 against a rubric through structured output
 * (`responseFormat` with a JSON schema), validates the answer with zod, and asks once more when it is invalid.
 */
export function judgeEvaluator(options: JudgeEvaluatorOptions): Evaluator {
  if (typeof options.rubric !== 'string' || options.rubric.trim() === '') {
    throw new EvolutionError({ code: 'INVALID_OPTIONS', message: 'judgeEvaluator: rubric must be a non-empty string' });
  }
  return {
    name: 'judge',
    async evaluate(source, context) {
      const messages: ChatMessage[] = [
        {
          role: 'system',
          content:
            'You are a strict reviewer. Score the candidate from 0 to 100 against the rubric and say concretely what ' +
            `would raise the score. Answer with a JSON object {"score": number, "feedback": string} only.\n\nRubric:\n${options.rubric}`,
        },
        { role: 'user', content: `Candidate \`${context.fileName}\`:\n\`\`\`\n${source}\n\`\`\`` },
      ];
      let tokens = 0;
      let costUsd = 0;
      let problem = '';
      for (let attempt = 0; attempt < 2; attempt++) {
        const response: ChatResponse = await options.model.chat({
          messages,
          responseFormat: { type: 'json', schema: verdictJsonSchema },
          ...(options.temperature !== undefined ? { temperature: options.temperature } : { temperature: 0 }),
          ...(options.maxOutputTokens !== undefined ? { maxOutputTokens: options.maxOutputTokens } : {}),
          ...(context.signal ? { signal: context.signal } : {}),
        });
        tokens += response.usage.totalTokens;
        costUsd += costUsdOf(response.usage, response.model, options.prices);
        const verdict = readVerdict(response.content);
        if (verdict.ok) return { score: verdict.score, feedback: verdict.feedback, tokens, costUsd };
        problem = verdict.problem;
        messages.push(
          { role: 'assistant', content: response.content },
          {
            role: 'user',
            content: `That answer was invalid: ${problem}. Reply with only {"score": <0-100>, "feedback": "<text>"}.`,
          },
        );
      }
      throw new EvolutionError({
        code: 'JUDGE_INVALID',
        message: `the judge answered twice without a valid verdict: ${problem}`,
        fix: 'use a judge model that supports structured output (JSON schema), or a simpler rubric',
      });
    },
  };
}

type Verdict = { ok: true; score: number; feedback: string } | { ok: false; problem: string };

function readVerdict(content: string): Verdict {
  const start = content.indexOf('{');
  const end = content.lastIndexOf('}');
  if (start < 0 || end < start) return { ok: false, problem: `no JSON object in "${clip(content, 120)}"` };
  let json: unknown;
  try {
    json = JSON.parse(content.slice(start, end + 1));
  } catch (error) {
    return { ok: false, problem: `malformed JSON (${describeError(error)})` };
  }
  const parsed = verdictSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || 'value'}: ${issue?.message}` };
  }
  return { ok: true, ...parsed.data };
}
