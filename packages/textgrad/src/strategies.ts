import type { ChatMessage } from '@unity/core';
import { EvolutionError } from './errors';
import type { Random } from './random';
import { applySearchReplace } from './search-replace';

/** A scored member of the population. */
export interface Candidate {
  id: string;
  source: string;
  score: number;
  feedback?: string;
  /** Each part's score when a combination of evaluators scored it. */
  parts?: Record<string, number>;
  generation: number;
}

export interface StrategyContext {
  /** The candidate to improve. */
  parent: Candidate;
  /** A second elite, different from the parent when the population has one (crossover uses it). */
  other: Candidate;
  baseline: Candidate;
  fileName: string;
  /** Seeded stream for this candidate: a resumed or replayed run draws the same numbers. */
  random: Random;
  /** Ask the coder. Counts tokens and cost, goes through the cassette, and carries this candidate's request seed. */
  chat(messages: ChatMessage[], options?: { temperature?: number; maxOutputTokens?: number }): Promise<string>;
  signal: AbortSignal;
}

/** A way to make a new candidate from the population: usually a prompt plus a way to apply the reply. */
export interface Strategy {
  readonly name: string;
  /** Return the new candidate's full text. Throwing (a diff that does not apply) fails the pull; the run goes on. */
  propose(context: StrategyContext): Promise<string>;
}

const system =
  'You improve a file so that it scores higher with its evaluator (0–100). Keep its purpose and interface. ' +
  'Reply exactly in the format asked for.';

function describe(c: Candidate, label: string): string {
  const feedback = c.feedback ? `\nEvaluator feedback:\n${c.feedback}` : '';
  return `${label} (score ${c.score.toFixed(2)}):\n\`\`\`\n${c.source}\n\`\`\`${feedback}`;
}

const wholeFile = (fileName: string) =>
  `Reply with the complete new \`${fileName}\` in one fenced code block and nothing after it.`;

/** The full text of a reply's longest fenced code block, or the whole reply when it has none. */
export function extractCode(reply: string): string {
  const blocks = [...reply.matchAll(/```[^\n`]*\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const code = blocks.length > 0 ? blocks.reduce((a, b) => (b.length > a.length ? b : a)) : reply.trim();
  if (code.trim() === '') {
    throw new EvolutionError({ code: 'BAD_REPLY', message: 'the coder replied with no code' });
  }
  return code;
}

/** Rewrite the whole file. */
export const rewriteStrategy: Strategy = {
  name: 'rewrite',
  async propose({ parent, fileName, chat }) {
    const reply = await chat([
      { role: 'system', content: system },
      {
        role: 'user',
        content: `${describe(parent, `Current \`${fileName}\``)}\n\nRewrite it to score higher. ${wholeFile(fileName)}`,
      },
    ]);
    return extractCode(reply);
  },
};

/** Targeted edits as SEARCH/REPLACE blocks; a block that does not apply fails the pull. */
export const diffStrategy: Strategy = {
  name: 'diff',
  async propose({ parent, fileName, chat }) {
    const reply = await chat([
      { role: 'system', content: system },
      {
        role: 'user',
        content:
          `${describe(parent, `Current \`${fileName}\``)}\n\nMake targeted edits that raise the score. Reply only with ` +
          'one or more blocks of this form, where SEARCH text is copied exactly from the file:\n' +
          '<<<<<<< SEARCH\n(existing lines)\n=======\n(new lines)\n>>>>>>> REPLACE',
      },
    ]);
    return applySearchReplace(parent.source, reply);
  },
};

/**
 * Textual gradient in TextGrad's manner: the coder first critiques the parent against the evaluator's feedback (the
 * "gradient"), then rewrites the file along that critique.
 */
export const gradientStrategy: Strategy = {
  name: 'gradient',
  async propose({ parent, fileName, chat }) {
    const critique = await chat([
      { role: 'system', content: 'You are a precise critic. Name concrete changes, most important first; no code.' },
      {
        role: 'user',
        content: `${describe(parent, `\`${fileName}\``)}\n\nWhat exactly keeps this from scoring 100? List the changes that would raise the score.`,
      },
    ]);
    const reply = await chat([
      { role: 'system', content: system },
      {
        role: 'user',
        content: `${describe(parent, `Current \`${fileName}\``)}\n\nCritique to apply:\n${critique}\n\nRewrite the file along this critique. ${wholeFile(fileName)}`,
      },
    ]);
    return extractCode(reply);
  },
};

/** Combine the strengths of two elites. */
export const crossoverStrategy: Strategy = {
  name: 'crossover',
  async propose({ parent, other, fileName, chat }) {
    const reply = await chat([
      { role: 'system', content: system },
      {
        role: 'user',
        content: `${describe(parent, 'Variant A')}\n\n${describe(other, 'Variant B')}\n\nWrite one \`${fileName}\` that combines the strengths of both. ${wholeFile(fileName)}`,
      },
    ]);
    return extractCode(reply);
  },
};

/** Make it shorter and clearer without lowering the score. */
export const simplifyStrategy: Strategy = {
  name: 'simplify',
  async propose({ parent, fileName, chat }) {
    const reply = await chat([
      { role: 'system', content: system },
      {
        role: 'user',
        content: `${describe(parent, `Current \`${fileName}\``)}\n\nSimplify it: remove what is not needed, make it shorter and clearer, keep everything the evaluator rewards. ${wholeFile(fileName)}`,
      },
    ]);
    return extractCode(reply);
  },
};

/** The built-in strategies, in their default order. */
export const defaultStrategies: readonly Strategy[] = [
  rewriteStrategy,
  diffStrategy,
  gradientStrategy,
  crossoverStrategy,
  simplifyStrategy,
];
