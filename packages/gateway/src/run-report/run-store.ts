import type { AgentRunEvent, EvolutionRunEvent, RunArm, RunEvent, RunEventBatch, RunKind } from './run-events';

/** An agent run's totals, kept exact however many of its events were trimmed from the recent list. */
export interface AgentRunTotals {
  /** Model answers. */
  steps: number;
  /** Tool calls by tool name (the reporter's names: a key may be `__proto__` or `constructor`, read it as data). */
  toolCalls: Record<string, number>;
  failedToolCalls: number;
  reminders: number;
  /** The level of the last reminder (`gentle`, `firm` …). */
  lastReminder?: string;
  nudges: number;
  compactions: number;
  inputTokens: number;
  outputTokens: number;
  /** The model (and provider) of the last step. */
  model?: string;
  provider?: string;
}

/** An evolution run's progress. */
export interface EvolutionRunTotals {
  generation: number;
  candidates: number;
  failures: number;
  baselineScore?: number;
  bestScore?: number;
  lastScore?: number | null;
  /** The last 100 candidates' scores (null: failed) with the best so far at each. */
  scores: { generation: number; score: number | null; best: number }[];
  /** The bandit's arms after the last candidate. */
  arms: Record<string, RunArm>;
  warnings: number;
  tokens: number;
  costUsd: number;
}

/** One run as `GET /api/runs` lists it and `run.update` events carry it. */
export interface RunSummary {
  id: string;
  kind: RunKind;
  title?: string;
  /** Who reports it: `master`, the virtual key's name, or `anonymous` on an open gateway. */
  reporter: string;
  /** Server time (ms since the epoch) of its first and last batch. */
  startedAt: number;
  updatedAt: number;
  status: 'running' | 'stopped';
  stopReason?: string;
  /** Events received, and events the reporter said it dropped. */
  events: number;
  dropped: number;
  /** The reporter's clock at its last event: how long the run has been going. */
  elapsedMs: number;
  agent?: AgentRunTotals;
  evolution?: EvolutionRunTotals;
}

/** An event as kept: the wire event and the server time it arrived. */
export type StoredRunEvent = RunEvent & { ts: number };

interface StoredRun {
  summary: RunSummary;
  /** Who may add to it (the reporter's identity: key id, `master`, `anonymous`). */
  owner: string;
  lastSeq: number;
  recent: StoredRunEvent[];
}

export interface RunStoreOptions {
  /** Runs kept; beyond it, the one updated longest ago is forgotten (default 50). */
  maxRuns?: number;
  /**
   * Runs kept per reporter (a virtual key, the master key, anonymous); beyond it, that reporter's run updated longest
   * ago is forgotten, so that one key cannot push everyone else's runs out (default 20).
   */
  maxRunsPerOwner?: number;
  /** Recent events kept per run (default 500); totals stay exact. */
  maxEventsPerRun?: number;
  now?: () => number;
}

/** Why a batch cannot be added to a run. */
type RunAddRefusal = { reason: 'owner'; message: string } | { reason: 'kind'; message: string };

type RunAddResult =
  | { ok: true; run: RunSummary; accepted: StoredRunEvent[]; duplicates: number }
  | ({ ok: false } & RunAddRefusal);

const maxScores = 100;

const emptyAgent = (): AgentRunTotals => ({
  steps: 0,
  // Keyed by names the reporter chose: without a prototype, `__proto__` or `toString` is a tool like any other.
  toolCalls: Object.create(null) as Record<string, number>,
  failedToolCalls: 0,
  reminders: 0,
  nudges: 0,
  compactions: 0,
  inputTokens: 0,
  outputTokens: 0,
});

const emptyEvolution = (): EvolutionRunTotals => ({
  generation: 0,
  candidates: 0,
  failures: 0,
  scores: [],
  arms: {},
  warnings: 0,
  tokens: 0,
  costUsd: 0,
});

function applyAgent(totals: AgentRunTotals, event: AgentRunEvent, summary: RunSummary): void {
  switch (event.type) {
    case 'step':
      totals.steps += 1;
      totals.inputTokens += event.inputTokens;
      totals.outputTokens += event.outputTokens;
      totals.model = event.model;
      if (event.provider !== undefined) totals.provider = event.provider;
      return;
    case 'tool-call':
      totals.toolCalls[event.name] = (totals.toolCalls[event.name] ?? 0) + 1;
      return;
    case 'tool-result':
      if (!event.ok) totals.failedToolCalls += 1;
      return;
    case 'reminder':
      totals.reminders += 1;
      totals.lastReminder = event.level;
      return;
    case 'nudge':
      totals.nudges += 1;
      return;
    case 'compacted':
      totals.compactions += 1;
      return;
    case 'stop':
      summary.status = 'stopped';
      summary.stopReason = event.stopReason;
      return;
    case 'final-request':
      return;
  }
}

function applyEvolution(totals: EvolutionRunTotals, event: EvolutionRunEvent, summary: RunSummary): void {
  switch (event.type) {
    case 'start':
      totals.baselineScore = event.baselineScore;
      totals.bestScore ??= event.baselineScore;
      totals.generation = Math.max(totals.generation, event.generation);
      return;
    case 'generation':
      totals.generation = Math.max(totals.generation, event.generation);
      return;
    case 'candidate':
      totals.candidates += 1;
      if (event.score === null) totals.failures += 1;
      totals.lastScore = event.score;
      totals.bestScore = event.bestScore;
      totals.arms = event.arms;
      totals.tokens += event.tokens;
      totals.costUsd += event.costUsd;
      totals.scores.push({ generation: event.generation, score: event.score, best: event.bestScore });
      if (totals.scores.length > maxScores) totals.scores.splice(0, totals.scores.length - maxScores);
      return;
    case 'best':
      totals.bestScore = Math.max(totals.bestScore ?? event.score, event.score);
      return;
    case 'warning':
      totals.warnings += 1;
      return;
    case 'stop':
      summary.status = 'stopped';
      summary.stopReason = event.stopReason;
      return;
    case 'holdout':
      return;
  }
}

/**
 * The recent runs reported to this gateway, in memory and bounded: at most `maxRunsPerOwner` runs of each reporter
 * and `maxRuns` in all (the one updated longest ago is forgotten first: the reporter's own, then anyone's), each with
 * its totals and its last `maxEventsPerRun` events. A run belongs to whoever reported
 * it first; events arrive in batches, and an event whose `seq` the run has seen is a retry's duplicate and ignored.
 */
export class RunStore {
  private readonly runs = new Map<string, StoredRun>();
  /** How many runs each owner has in `runs`. */
  private readonly owned = new Map<string, number>();
  private readonly maxRuns: number;
  private readonly maxPerOwner: number;
  private readonly maxEvents: number;
  private readonly now: () => number;

  constructor(options: RunStoreOptions = {}) {
    this.maxRuns = Math.max(1, options.maxRuns ?? 50);
    this.maxPerOwner = Math.max(1, options.maxRunsPerOwner ?? 20);
    this.maxEvents = Math.max(1, options.maxEventsPerRun ?? 500);
    this.now = options.now ?? Date.now;
  }

  add(id: string, batch: RunEventBatch, reporter: { owner: string; name: string }): RunAddResult {
    const now = this.now();
    let run = this.runs.get(id);
    if (run && run.owner !== reporter.owner) {
      return { ok: false, reason: 'owner', message: `run ${id} is reported by another key` };
    }
    if (run && run.summary.kind !== batch.kind) {
      return {
        ok: false,
        reason: 'kind',
        message: `run ${id} is an ${run.summary.kind} run; this batch is of an ${batch.kind} run`,
      };
    }
    const isNew = !run;
    if (!run) {
      run = {
        owner: reporter.owner,
        lastSeq: -1,
        recent: [],
        summary: {
          id,
          kind: batch.kind,
          reporter: reporter.name,
          startedAt: now,
          updatedAt: now,
          status: 'running',
          events: 0,
          dropped: 0,
          elapsedMs: 0,
          ...(batch.kind === 'agent' ? { agent: emptyAgent() } : { evolution: emptyEvolution() }),
        },
      };
    }
    // Most recently updated last: Map keeps insertion order.
    this.runs.delete(id);
    this.runs.set(id, run);
    if (isNew) {
      this.owned.set(run.owner, (this.owned.get(run.owner) ?? 0) + 1);
      this.evictBeyondLimits(run.owner);
    }

    const { summary } = run;
    if (batch.title !== undefined) summary.title = batch.title;
    summary.dropped += batch.dropped ?? 0;
    summary.updatedAt = now;
    const accepted: StoredRunEvent[] = [];
    let duplicates = 0;
    for (const event of batch.events as RunEvent[]) {
      if (event.seq <= run.lastSeq) {
        duplicates += 1;
        continue;
      }
      run.lastSeq = event.seq;
      summary.events += 1;
      summary.elapsedMs = Math.max(summary.elapsedMs, event.elapsedMs);
      if (summary.agent) applyAgent(summary.agent, event as AgentRunEvent, summary);
      if (summary.evolution) applyEvolution(summary.evolution, event as EvolutionRunEvent, summary);
      const stored = { ...event, ts: now } as StoredRunEvent;
      accepted.push(stored);
      run.recent.push(stored);
    }
    if (run.recent.length > this.maxEvents) run.recent.splice(0, run.recent.length - this.maxEvents);
    return { ok: true, run: structuredClone(summary), accepted, duplicates };
  }

  /** The runs, most recently updated first. */
  list(): RunSummary[] {
    return [...this.runs.values()].reverse().map((run) => structuredClone(run.summary));
  }

  get(id: string): { run: RunSummary; events: StoredRunEvent[] } | undefined {
    const run = this.runs.get(id);
    return run ? { run: structuredClone(run.summary), events: [...run.recent] } : undefined;
  }

  get size(): number {
    return this.runs.size;
  }

  /** Forget the runs updated longest ago: `owner`'s beyond its share, then anyone's beyond the total. */
  private evictBeyondLimits(owner: string): void {
    for (const [id, run] of this.runs) {
      if ((this.owned.get(owner) ?? 0) <= this.maxPerOwner) break;
      if (run.owner === owner) this.forget(id, run);
    }
    for (const [id, run] of this.runs) {
      if (this.runs.size <= this.maxRuns) break;
      this.forget(id, run);
    }
  }

  private forget(id: string, run: StoredRun): void {
    this.runs.delete(id);
    const left = (this.owned.get(run.owner) ?? 1) - 1;
    if (left > 0) this.owned.set(run.owner, left);
    else this.owned.delete(run.owner);
  }
}
