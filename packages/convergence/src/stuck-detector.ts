import type { CallRecord } from './call-record';

export type StuckKind = 'repeated-call' | 'repeated-failure' | 'alternation' | 'empty-replies';

/** A repetition the loop noticed. `key` identifies it, so the loop can tell whether a nudged pattern continued. */
export interface StuckPattern {
  kind: StuckKind;
  key: string;
  /** What repeats, for the model and the user: `read_file {"path":"a.txt"} returned the same result 4 times in a row`. */
  description: string;
  /** How many calls (or replies) the repetition spans so far. */
  count: number;
  /** The tools involved. */
  tools: string[];
}

export interface StuckOptions {
  /** The same call with the same result this many times in a row (default 4). */
  repeatedCall?: number;
  /** The same call failing this many times without succeeding in between (default 3). */
  repeatedFailure?: number;
  /** Two (or three) calls taking turns with unchanged results over this many calls (default 6). */
  alternationSteps?: number;
  /** Replies with neither text nor tool calls, this many in a row (default 2). */
  emptyReplies?: number;
}

const maxShown = 100;
const show = (fingerprint: string) =>
  fingerprint.length > maxShown ? `${fingerprint.slice(0, maxShown - 1)}…` : fingerprint;
const entry = (r: CallRecord) => `${r.fingerprint}\0${r.resultFingerprint}`;

/**
 * Watches executed calls and replies for repetition that makes no progress. A call whose result changes (polling a
 * job that advances) is not repetition: calls are compared together with their results.
 */
export class StuckDetector {
  private readonly repeatedCall: number;
  private readonly repeatedFailure: number;
  private readonly alternationSteps: number;
  private readonly emptyReplies: number;
  // Stryker disable next-line ArrayDeclaration: a stray first entry equals no call record, so no run or cycle includes it
  private readonly history: CallRecord[] = [];
  private readonly failures = new Map<string, number>();
  private emptyInARow = 0;

  constructor(options: StuckOptions = {}) {
    this.repeatedCall = options.repeatedCall ?? 4;
    this.repeatedFailure = options.repeatedFailure ?? 3;
    this.alternationSteps = options.alternationSteps ?? 6;
    this.emptyReplies = options.emptyReplies ?? 2;
  }

  /** Record one executed call; returns the pattern it completes or continues, if any. */
  recordCall(record: CallRecord): StuckPattern | undefined {
    this.history.push(record);
    if (this.history.length > 4 * Math.max(this.repeatedCall, this.alternationSteps, 9)) this.history.shift();
    return this.failurePattern(record) ?? this.repeatPattern(record) ?? this.cyclePattern();
  }

  /** Record a model reply: `empty` when it had neither text nor tool calls. */
  recordReply(empty: boolean): StuckPattern | undefined {
    this.emptyInARow = empty ? this.emptyInARow + 1 : 0;
    if (this.emptyInARow < this.emptyReplies) return undefined;
    return {
      kind: 'empty-replies',
      key: 'empty-replies',
      description: `${this.emptyInARow} empty replies in a row (no text and no tool calls)`,
      count: this.emptyInARow,
      tools: [],
    };
  }

  private failurePattern(record: CallRecord): StuckPattern | undefined {
    if (record.ok) {
      this.failures.delete(record.fingerprint);
      return undefined;
    }
    const count = (this.failures.get(record.fingerprint) ?? 0) + 1;
    this.failures.set(record.fingerprint, count);
    if (count < this.repeatedFailure) return undefined;
    return {
      kind: 'repeated-failure',
      key: `failure:${record.fingerprint}`,
      description: `${show(record.fingerprint)} failed ${count} times${record.error ? `, last with: ${record.error.split('\n')[0]}` : ''}`,
      count,
      tools: [record.name],
    };
  }

  private repeatPattern(record: CallRecord): StuckPattern | undefined {
    const last = entry(record);
    let run = 0;
    for (let i = this.history.length - 1; i >= 0 && entry(this.history[i] as CallRecord) === last; i--) run++;
    if (run < this.repeatedCall) return undefined;
    return {
      kind: 'repeated-call',
      key: `repeat:${last}`,
      description: `${show(record.fingerprint)} returned the same result ${run} times in a row`,
      count: run,
      tools: [record.name],
    };
  }

  /** A cycle of two (A/B) or three calls repeating with unchanged results over the last `alternationSteps × p / 2` calls. */
  private cyclePattern(): StuckPattern | undefined {
    const repetitions = Math.max(2, Math.ceil(this.alternationSteps / 2));
    for (const period of [2, 3]) {
      const span = period * repetitions;
      if (this.history.length < span) continue;
      const tail = this.history.slice(-span).map(entry);
      const cycle = tail.slice(0, period);
      if (new Set(cycle).size === 1) continue;
      if (!tail.every((e, i) => e === cycle[i % period])) continue;
      const records = this.history.slice(-period);
      return {
        kind: 'alternation',
        key: `cycle:${[...cycle].sort().join('\n')}`,
        description: `alternating between ${records.map((r) => show(r.fingerprint)).join(' and ')} with unchanged results over ${span} calls`,
        count: span,
        tools: [...new Set(records.map((r) => r.name))],
      };
    }
    return undefined;
  }
}
