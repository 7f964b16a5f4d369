import { z } from 'zod';
import type { RouterRole } from '../config-schema';
import { ConfigError } from '../errors';
import { parseModelString } from '../model-string';

/** What a request names to be answered by an ensemble: `ensemble/<name>`. */
export const ensemblePrefix = 'ensemble/';

/** How an ensemble turns its members' answers into one. */
export const ensembleStrategies = ['vote', 'judge', 'fuse', 'race'] as const;
export type EnsembleStrategy = (typeof ensembleStrategies)[number];

/** How `vote` reads the final answer out of each text before counting. */
export const extractModes = ['last_number', 'last_line', 'full'] as const;
export type ExtractMode = (typeof extractModes)[number];

/** Which percentile of a member's recent times to first token `race` waits before it starts the next member. */
export const hedgePercentiles = ['p50', 'p90', 'p95', 'p99'] as const;
export type HedgePercentile = (typeof hedgePercentiles)[number];

/** The roles (config-schema's `routerRoles`, repeated here: that module imports this one). */
const roles: readonly RouterRole[] = ['reasoning', 'coding', 'fallback'];
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A model string, or a role (`reasoning`, `coding`, `fallback`) standing for `models.<role>`. */
const target = z.string().superRefine((value, ctx) => {
  if ((roles as readonly string[]).includes(value)) return;
  if (value.startsWith(ensemblePrefix)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is an ensemble; an ensemble's members and judge are models`,
      params: {
        fix: `list that ensemble's members here instead, or name a model string or a role (${roles.join(', ')})`,
      },
    });
    return;
  }
  try {
    parseModelString(value);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    ctx.addIssue({
      code: 'custom',
      message: `${error.message.replace(/^model: /, '')} (nor is it a role: ${roles.join(', ')})`,
      params: { fix: `${error.fix ?? 'write <provider>/<model>'}, or name a role (${roles.join(', ')})` },
    });
  }
});

const priceSchema = z.strictObject({
  /** US dollars per million input tokens. */
  input_per_mtok: z.number().min(0),
  /** US dollars per million output tokens. */
  output_per_mtok: z.number().min(0),
});

/** Every option of an ensemble; which strategy each belongs to is checked apart (`strategyOf`). */
const ensembleShape = {
  /** The models asked: model strings, or roles for `models.<role>`. Each is asked through the router's own chain. */
  members: z.array(target).min(1),
  strategy: z.enum(ensembleStrategies),
  /** How many member calls run at once (default: all of them). */
  concurrency: z.number().int().positive().optional(),
  /** Prices of member models (model string → dollars per million tokens), for the cost in the trace. */
  prices: z.record(z.string(), priceSchema).optional(),
  /** vote: answers drawn from each member (with the response cache off, so that each is drawn anew). */
  samples: z.number().int().positive().optional(),
  /** vote: what is compared — the last number, the last line, or the whole text (each normalised). */
  extract: z.enum(extractModes).optional(),
  /** vote: answers needed to decide (default 1). */
  min_answers: z.number().int().positive().optional(),
  /** judge: the model (or role) that picks the best answer. */
  judge: target.optional(),
  /** fuse: the model (or role) that merges the answers into one. */
  fuser: target.optional(),
  /** race: start the next member after this many milliseconds without a first token. */
  hedge_after_ms: z.number().int().min(0).optional(),
  /** race: start the next member after this percentile of the previous member's recent times to first token. */
  hedge: z.enum(hedgePercentiles).optional(),
};

/** The options that belong to one strategy only. */
const strategyOf: Partial<Record<keyof typeof ensembleShape, EnsembleStrategy>> = {
  samples: 'vote',
  extract: 'vote',
  min_answers: 'vote',
  judge: 'judge',
  fuser: 'fuse',
  hedge_after_ms: 'race',
  hedge: 'race',
};

type EnsembleFields = z.output<z.ZodObject<typeof ensembleShape>>;

/**
 * One ensemble, as written under `ensembles.<name>`, with defaults applied. Unknown keys, and options of another
 * strategy, are errors naming the key and the fix.
 */
export type EnsembleSettings = Omit<EnsembleFields, 'samples' | 'extract' | 'min_answers'> & {
  samples: number;
  extract: ExtractMode;
  min_answers: number;
};

const ensembleSchema = z
  .looseObject(ensembleShape)
  .superRefine((value, ctx) => {
    const known = Object.keys(ensembleShape);
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `unknown key ${key}`,
        params: { fix: `remove or rename it (known keys: ${known.join(', ')})` },
      });
    }
    const strategy = value.strategy;
    for (const [key, owner] of Object.entries(strategyOf)) {
      if (value[key as keyof typeof value] === undefined || owner === strategy) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `${key} is an option of strategy ${owner}, and this ensemble's strategy is ${strategy}`,
        params: { fix: `remove ${key}, or set strategy: ${owner}` },
      });
    }
    checkStrategy(value as EnsembleFields, ctx);
  })
  .transform((value): EnsembleSettings => {
    const fields = Object.fromEntries(Object.entries(value).filter(([key]) => key in ensembleShape));
    return {
      ...(fields as EnsembleFields),
      samples: value.samples ?? 1,
      extract: value.extract ?? 'last_line',
      min_answers: value.min_answers ?? 1,
    };
  });

/** What each strategy needs to be able to decide at all. */
function checkStrategy(value: EnsembleFields, ctx: z.RefinementCtx): void {
  const members = value.members.length;
  const need = (key: string, message: string, fix: string) =>
    ctx.addIssue({ code: 'custom', path: [key], message, params: { fix } });
  switch (value.strategy) {
    case 'vote': {
      const answers = members * (value.samples ?? 1);
      if (answers < 2) {
        need('members', 'a vote of one answer decides nothing', 'list two or more members, or set samples: 3 or more');
      }
      if ((value.min_answers ?? 1) > answers) {
        need(
          'min_answers',
          `${value.min_answers} answers can never be reached: ${members} member(s) × ${value.samples ?? 1} sample(s) give ${answers}`,
          `set min_answers to at most ${answers}, or add members or samples`,
        );
      }
      return;
    }
    case 'judge':
      if (value.judge === undefined) {
        need('judge', 'strategy judge needs a judge', 'set judge: to a model string or a role (e.g. judge: reasoning)');
      }
      break;
    case 'fuse':
      if (value.fuser === undefined) {
        need('fuser', 'strategy fuse needs a fuser', 'set fuser: to a model string or a role (e.g. fuser: reasoning)');
      }
      break;
    case 'race':
      break;
  }
  if (members < 2) {
    need('members', `strategy ${value.strategy} needs two or more members`, 'add a member, or name the model directly');
  }
}

/**
 * The top-level `ensembles:` section: named ensembles, served as the model `ensemble/<name>` by the router, the CLI
 * and the gateway.
 */
export const ensemblesSchema = z
  .record(z.string(), ensembleSchema)
  .superRefine((ensembles, ctx) => {
    for (const name of Object.keys(ensembles)) {
      if (namePattern.test(name)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `"${name}" cannot be an ensemble's name (it is served as ensemble/${name})`,
        params: { fix: 'use letters, digits, ".", "_" or "-" (e.g. maths-vote)' },
      });
    }
  })
  .default({});

/** Is this model name an ensemble (`ensemble/<name>`)? */
export function isEnsembleModel(model: string | undefined): model is `${typeof ensemblePrefix}${string}` {
  return model?.startsWith(ensemblePrefix) === true;
}

/** A member, judge or fuser as the router is asked for it: a model string, and the role a role member stands for. */
export interface EnsembleTarget {
  /** As configured (`reasoning`, `minimax/MiniMax-M2`). */
  name: string;
  /** The model string asked first. */
  model: string;
  role?: RouterRole;
}

/** `reasoning` → `models.reasoning` (asked with that role); a model string as it is. */
export function resolveTarget(name: string, models: Readonly<Record<string, unknown>>): EnsembleTarget {
  const role = roles.find((r) => r === name);
  if (!role) return { name, model: name };
  const model = models[role];
  return { name, model: typeof model === 'string' ? model : name, role };
}

/**
 * The model strings an ensemble may call: its members, then its judge or fuser (what the gateway lists as its chain
 * and prices a request by).
 */
export function ensembleModelStrings(
  ensemble: Pick<EnsembleSettings, 'members' | 'judge' | 'fuser'>,
  models: Readonly<Record<string, unknown>>,
): string[] {
  const names = [...ensemble.members, ensemble.judge, ensemble.fuser].filter((n): n is string => n !== undefined);
  return [...new Set(names.map((n) => resolveTarget(n, models).model))];
}
