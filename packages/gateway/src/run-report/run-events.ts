import { z } from 'zod';

/**
 * The wire format of run reports: what `RunReporter` sends to `POST /api/runs/:id/events` and what the gateway
 * validates, keeps and republishes on /ws. Compact on purpose: an agent's steps, tool calls (arguments clipped, results
 * reduced to ok/error) and reminders; an evolution's generations, scores and bandit arms. No message contents, no tool
 * outputs: a run report is telemetry, not a transcript.
 */

const runKinds = ['agent', 'evolution'] as const;
export type RunKind = (typeof runKinds)[number];

/** Longest text field of an event (tool arguments, messages); the reporter clips to it, the gateway refuses more. */
const maxRunTextLength = 2000;
/** Longest name field of an event (models, tools, strategies, ids). */
export const maxRunNameLength = 200;
/** Most events in one request. */
export const maxRunBatchEvents = 200;
/** Most bandit arms an evolution event may carry. */
const maxArms = 32;

/** A run id in the URL: letters, digits, `.`, `_`, `-`; 1–100 characters, starting with a letter or digit. */
export const runIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const name = z.string().max(maxRunNameLength);
const text = z.string().max(maxRunTextLength);
const count = z.number().int().min(0);
const ms = z.number().min(0);
const score = z.number();

/** Every event's place in its run: `seq` counts from 0 and only grows; `elapsedMs` since the run began (reporter's clock). */
const stamp = { seq: count, elapsedMs: ms };

const agentRunEventSchema = z.discriminatedUnion('type', [
  /** One model call answered. */
  z.strictObject({
    ...stamp,
    type: z.literal('step'),
    iteration: count,
    model: name,
    provider: name.optional(),
    finishReason: name,
    /** The tools the model asked for, by name. */
    toolCalls: z.array(name).max(64),
    inputTokens: count,
    outputTokens: count,
    ms,
  }),
  z.strictObject({ ...stamp, type: z.literal('tool-call'), iteration: count, id: name, name, arguments: text }),
  z.strictObject({
    ...stamp,
    type: z.literal('tool-result'),
    iteration: count,
    id: name,
    name,
    ok: z.boolean(),
    error: text.optional(),
  }),
  z.strictObject({
    ...stamp,
    type: z.literal('reminder'),
    iteration: count,
    level: name,
    toolCalls: count,
    message: text,
  }),
  z.strictObject({ ...stamp, type: z.literal('final-request'), iteration: count, toolCalls: count }),
  z.strictObject({ ...stamp, type: z.literal('nudge'), iteration: count, pattern: name, message: text }),
  z.strictObject({
    ...stamp,
    type: z.literal('compacted'),
    iteration: count,
    tokensBefore: count,
    tokensAfter: count,
    elidedMessages: count,
  }),
  z.strictObject({
    ...stamp,
    type: z.literal('stop'),
    stopReason: name,
    iterations: count,
    toolCalls: count,
    totalTokens: count,
    costUsd: z.number().min(0),
    error: text.optional(),
  }),
]);

const armSchema = z.strictObject({ pulls: count, meanReward: z.number(), successes: count });
const armsSchema = z
  .record(name, armSchema)
  .refine((arms) => Object.keys(arms).length <= maxArms, { message: `at most ${maxArms} bandit arms` });

const evolutionRunEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...stamp,
    type: z.literal('start'),
    resumed: z.boolean(),
    baselineScore: score,
    generation: count,
    candidates: count,
  }),
  z.strictObject({ ...stamp, type: z.literal('generation'), generation: count, offspring: count }),
  /** One candidate evaluated (or failed: `score` null, `error` set), with the bandit's arms after it. */
  z.strictObject({
    ...stamp,
    type: z.literal('candidate'),
    generation: count,
    id: name,
    parentId: name.nullable(),
    strategy: name,
    score: score.nullable(),
    bestScore: score,
    arms: armsSchema,
    tokens: count,
    costUsd: z.number().min(0),
    ms,
    error: text.optional(),
  }),
  z.strictObject({ ...stamp, type: z.literal('best'), id: name, score, generation: count }),
  z.strictObject({
    ...stamp,
    type: z.literal('holdout'),
    id: name,
    score,
    holdoutScore: score.nullable(),
    error: text.optional(),
  }),
  z.strictObject({ ...stamp, type: z.literal('warning'), kind: name, id: name, message: text }),
  z.strictObject({ ...stamp, type: z.literal('stop'), stopReason: name }),
]);

const batchFields = {
  /** What the run is about (the task, the file), shown on the dashboard. */
  title: name.optional(),
  /** Events the reporter dropped (queue full, gateway away) since its previous batch. */
  dropped: count.optional(),
};

/** The body of `POST /api/runs/:id/events`. */
export const runEventBatchSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('agent'),
    ...batchFields,
    events: z.array(agentRunEventSchema).min(1).max(maxRunBatchEvents),
  }),
  z.strictObject({
    kind: z.literal('evolution'),
    ...batchFields,
    events: z.array(evolutionRunEventSchema).min(1).max(maxRunBatchEvents),
  }),
]);

export type AgentRunEvent = z.output<typeof agentRunEventSchema>;
export type EvolutionRunEvent = z.output<typeof evolutionRunEventSchema>;
export type RunEvent = AgentRunEvent | EvolutionRunEvent;
export type RunEventBatch = z.output<typeof runEventBatchSchema>;
export type RunArm = z.output<typeof armSchema>;

/** An event before the reporter stamps it with `seq` and `elapsedMs`. */
export type Unstamped<E> = E extends unknown ? Omit<E, 'seq' | 'elapsedMs'> : never;

/** The events of a run of this kind. */
export type RunEventOf<K extends RunKind> = K extends 'agent' ? AgentRunEvent : EvolutionRunEvent;

/** `text` cut to `max` characters (an ellipsis marks the cut). */
export function clipText(value: string, max = maxRunTextLength): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
