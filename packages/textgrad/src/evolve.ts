import { existsSync } from 'node:fs';
import type { BudgetStopReason, ChatModel, RunBudget } from '@unity/core';
import { BudgetTracker, costUsdOf, runBudgetIssue, UnityError } from '@unity/core';
import { z } from 'zod';
import { type ArmStats, type Bandit, type BanditPolicy, createBandit } from './bandit';
import { Cassette, type CassetteOptions } from './cassette';
import { EvolutionError, errorText, isFatal } from './errors';
import type { Evaluation, Evaluator } from './evaluator';
import { EvolutionLog, type LogLine } from './evolution-log';
import { Population } from './population';
import { createRandom, deriveSeed } from './random';
import { type Candidate, defaultStrategies, type Strategy } from './strategies';

export interface EvolveOptions {
  /** The text to improve. */
  baseline: string;
  evaluator: Evaluator;
  /** Any chat model: the router's `coding` role, or your own adapter. */
  coder: ChatModel;
  /** The candidate's file name in the sandbox and in prompts (its extension names the language). Default `candidate.txt`. */
  fileName?: string;
  /** Default: rewrite, diff, gradient, crossover, simplify. Names must be unique. */
  strategies?: readonly Strategy[];
  /** Default `thompson`. */
  bandit?: BanditPolicy | Bandit;
  /** How many of the best candidates stay parents. Default 4. */
  elites?: number;
  /** Generations to run (a resumed run counts those already in the log). Default 10. */
  generations?: number;
  /** Candidates per generation. Default: `concurrency`. */
  offspring?: number;
  /** Candidates proposed and evaluated at once. Default 1. */
  concurrency?: number;
  /**
   * The run's limits (`@unity/core`'s `RunBudget`): `maxWallTimeMs` stops starting generations and aborts the one in
   * flight; `maxTotalTokens` and `maxCostUsd` count the coder's and the evaluators' calls. `prices` prices the coder's
   * calls (a judge prices its own); `maxCostUsd` needs it (INVALID_OPTIONS without it).
   */
  budget?: RunBudget;
  /** Stop when the best reaches this score. Default 100. */
  targetScore?: number;
  /** Seeds every random choice and each coder request's `seed`. Default 0. */
  seed?: number;
  /** JSONL log; its `.candidates` folder beside it keeps the candidates' texts. */
  logFile?: string;
  /** Continue the run recorded in `logFile` when it has lines. Default true; false starts afresh. */
  resume?: boolean;
  signal?: AbortSignal;
  /** When this file exists, the run ends after the current generation. */
  stopFile?: string;
  /** Run on each new best; a divergence above `holdoutThreshold` from its score is reported as reward hacking. */
  holdout?: Evaluator;
  /** Default 15 points. */
  holdoutThreshold?: number;
  /** Record coder calls to, or replay them from, a cassette (wrap a judge's model with `Cassette.wrap` yourself). */
  cassette?: CassetteOptions | Cassette;
  /** Coder temperature. Default 0.7. */
  temperature?: number;
  /** The cap on each coder reply, in tokens. */
  maxOutputTokens?: number;
  onEvent?: (event: EvolutionEvent) => void;
}

export type StopReason = 'generations' | 'target' | BudgetStopReason | 'stop-file' | 'aborted';

export type EvolutionEvent =
  | { type: 'start'; resumed: boolean; baselineScore: number; generation: number; candidates: number }
  | { type: 'generation'; generation: number; offspring: number }
  | { type: 'candidate'; line: LogLine }
  | { type: 'best'; candidate: Candidate }
  | { type: 'holdout'; candidateId: string; score: number; holdoutScore: number | null; error?: string }
  | { type: 'warning'; kind: 'reward-hacking' | 'holdout-failed'; candidateId: string; message: string }
  | { type: 'stop'; reason: StopReason };

export interface EvolutionResult {
  baseline: Candidate;
  best: Candidate;
  /** best.score − baseline.score. */
  delta: number;
  stopReason: StopReason;
  /** Generations completed, counting those of a resumed log. */
  generations: number;
  /** Candidates logged (failed ones included), counting those of a resumed log. */
  candidates: number;
  failures: number;
  /** Bandit statistics per strategy. */
  strategies: Record<string, ArmStats>;
  tokens: number;
  costUsd: number;
  /** Holdout warnings raised during this process's part of the run. */
  warnings: string[];
  resumed: boolean;
}

const optionsSchema = z.object({
  baseline: z.string(),
  fileName: z.string().min(1).optional(),
  elites: z.number().int().min(1).optional(),
  generations: z.number().int().min(0).optional(),
  offspring: z.number().int().min(1).optional(),
  concurrency: z.number().int().min(1).optional(),
  targetScore: z.number().optional(),
  seed: z.number().int().optional(),
  holdoutThreshold: z.number().min(0).optional(),
  temperature: z.number().min(0).optional(),
});

interface Plan {
  id: string;
  k: number;
  strategy: Strategy;
  parent: Candidate;
  other: Candidate;
}

interface Outcome {
  plan: Plan;
  source?: string;
  evaluation?: Evaluation;
  error?: unknown;
  tokens: number;
  costUsd: number;
  ms: number;
}

/**
 * Evolve `baseline`: each generation a bandit picks a mutation strategy per offspring, the coder proposes a variant of
 * a parent drawn from the elites, the evaluator scores it, and the population keeps the best. Every candidate is one
 * line of the JSONL log; rerunning with the same log resumes. Never throws for a failed candidate — only for invalid
 * options, an unreadable log or cassette, a cassette miss, or a baseline that cannot be scored.
 */
export async function evolve(options: EvolveOptions): Promise<EvolutionResult> {
  const checked = optionsSchema.safeParse(options);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message: `evolve options.${issue?.path.join('.')}: ${issue?.message}`,
    });
  }
  const budgetIssue = runBudgetIssue(options.budget ?? undefined);
  if (budgetIssue?.path === 'prices') {
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message:
        'evolve options.budget.maxCostUsd is set but budget.prices is not: coder calls would cost $0 and the budget would never stop the run',
      fix: "add budget.prices: { '<model>' or '*': { inputPer1k, outputPer1k } } (US dollars per 1000 tokens), or drop budget.maxCostUsd",
    });
  }
  if (budgetIssue) {
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message: `evolve options.budget.${budgetIssue.path}: expected ${budgetIssue.expected}, got ${JSON.stringify(budgetIssue.got)}`,
    });
  }
  const run = new EvolutionRun(options);
  try {
    return await run.execute();
  } finally {
    run.close();
  }
}

class EvolutionRun {
  private readonly strategies: readonly Strategy[];
  private readonly bandit: Bandit;
  private readonly population: Population;
  private readonly log: EvolutionLog | undefined;
  private readonly coder: ChatModel;
  private readonly fileName: string;
  private readonly seed: number;
  private readonly generations: number;
  private readonly offspring: number;
  private readonly concurrency: number;
  private readonly emit: (event: EvolutionEvent) => void;
  private readonly controller = new AbortController();
  private readonly scores = new Map<string, number | null>();
  private baseline!: Candidate;
  private best!: Candidate;
  private readonly spending: BudgetTracker;
  private candidates = 0;
  private failures = 0;
  private completed = 0;
  private readonly warnings: string[] = [];
  private stopReason: StopReason | undefined;
  private wallTimer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.stop('aborted');

  constructor(private readonly options: EvolveOptions) {
    this.strategies = options.strategies ?? defaultStrategies;
    const names = this.strategies.map((s) => s.name);
    if (names.length === 0 || new Set(names).size !== names.length) {
      throw new EvolutionError({
        code: 'INVALID_OPTIONS',
        message: `evolve options.strategies: need at least one strategy, with unique names (got ${names.join(', ') || 'none'})`,
      });
    }
    this.seed = options.seed ?? 0;
    this.bandit = createBandit(options.bandit ?? 'thompson', names, this.seed);
    const unknown = names.filter((n) => !this.bandit.arms.includes(n));
    if (unknown.length > 0) {
      throw new EvolutionError({
        code: 'INVALID_OPTIONS',
        message: `evolve options.bandit: its arms (${this.bandit.arms.join(', ')}) lack the strategies ${unknown.join(', ')}`,
      });
    }
    this.population = new Population(options.elites ?? 4);
    this.log = options.logFile ? new EvolutionLog(options.logFile) : undefined;
    const cassette =
      options.cassette === undefined
        ? undefined
        : options.cassette instanceof Cassette
          ? options.cassette
          : Cassette.open(options.cassette);
    this.coder = cassette ? cassette.wrap(options.coder, 'coder') : options.coder;
    this.fileName = options.fileName ?? 'candidate.txt';
    this.concurrency = options.concurrency ?? 1;
    this.offspring = options.offspring ?? this.concurrency;
    this.generations = options.generations ?? 10;
    this.spending = new BudgetTracker(options.budget);
    this.emit = options.onEvent ?? (() => {});
  }

  async execute(): Promise<EvolutionResult> {
    const signal = this.options.signal;
    if (signal?.aborted) this.stop('aborted');
    signal?.addEventListener('abort', this.onAbort, { once: true });
    const wall = this.options.budget?.maxWallTimeMs;
    if (wall !== undefined) this.wallTimer = setTimeout(() => this.stop('budget_time'), wall);

    const { generation: startGeneration, resumed, committed } = await this.restoreOrStart();
    this.emit({
      type: 'start',
      resumed,
      baselineScore: this.baseline.score,
      generation: startGeneration,
      candidates: this.candidates + committed.length,
    });

    let pending = committed;
    for (let generation = startGeneration; generation <= this.generations; generation++) {
      const reason = this.checkStop();
      if (reason) {
        this.stop(reason);
        break;
      }
      this.emit({ type: 'generation', generation, offspring: this.offspring });
      const plans = this.plan(generation);
      await this.runGeneration(generation, plans, pending);
      pending = [];
      if (this.controller.signal.aborted) break;
      this.completed = generation;
    }
    const stopReason = this.stopReason ?? this.checkStop() ?? 'generations';
    this.emit({ type: 'stop', reason: stopReason });
    return {
      baseline: this.baseline,
      best: this.best,
      delta: this.best.score - this.baseline.score,
      stopReason,
      generations: this.completed,
      candidates: this.candidates,
      failures: this.failures,
      strategies: this.bandit.stats(),
      tokens: this.spending.spent().totalTokens,
      costUsd: this.spending.spent().costUsd,
      warnings: this.warnings,
      resumed,
    };
  }

  close(): void {
    clearTimeout(this.wallTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.log?.close();
  }

  private stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    if (reason === 'aborted' || reason === 'budget_time') this.controller.abort();
  }

  private checkStop(): StopReason | undefined {
    if (this.stopReason) return this.stopReason;
    if (this.best.score >= (this.options.targetScore ?? 100)) return 'target';
    const spent = this.spending.limitReached();
    if (spent) return spent;
    if (this.options.stopFile && existsSync(this.options.stopFile)) return 'stop-file';
    return undefined;
  }

  // ——— start and resume ———

  /**
   * Score the baseline (new run) or replay the log (resume): the bandit is fed the same rewards in the same order,
   * the population and best are rebuilt, and a generation cut short is re-planned from the seed, so its missing
   * candidates are the very ones the interrupted run had in flight.
   */
  private async restoreOrStart(): Promise<{ generation: number; resumed: boolean; committed: LogLine[] }> {
    const lines = this.log && this.options.resume !== false ? this.log.readAndRepair() : [];
    if (lines.length === 0) {
      this.log?.reset();
      await this.scoreBaseline();
      return { generation: 1, resumed: false, committed: [] };
    }
    const log = this.log as EvolutionLog;
    const first = lines[0] as LogLine;
    if (first.candidate_id !== 'baseline' || first.score === null) {
      throw new EvolutionError({
        code: 'FILE_INVALID',
        message: `${log.path}:1: a resumable log starts with the scored baseline (found candidate ${first.candidate_id})`,
        fix: 'move the file away to start a fresh run',
      });
    }
    if (!log.hasText(this.options.baseline)) {
      throw new EvolutionError({
        code: 'FILE_INVALID',
        message: `the log ${log.path} belongs to another run: neither its baseline nor any of its candidates is the given baseline`,
        fix: 'give another log file (--log), or start afresh over this one (resume: false / --no-resume)',
      });
    }
    this.baseline = {
      id: 'baseline',
      generation: 0,
      score: first.score,
      ...log.loadCandidate('baseline'),
      ...(first.parts ? { parts: first.parts } : {}),
    };
    this.best = this.baseline;
    this.population.offer(this.baseline);
    this.scores.set('baseline', first.score);
    this.account(first);
    const last = lines.at(-1) as LogLine;
    const partial = lines.filter((l) => l.generation === last.generation && l.generation > 0);
    const complete = partial.length >= this.offspring || last.generation === 0;
    for (const line of lines.slice(1, complete ? undefined : lines.length - partial.length)) this.replay(line);
    this.completed = complete ? last.generation : last.generation - 1;
    if (complete) return { generation: last.generation + 1, resumed: true, committed: [] };
    return { generation: last.generation, resumed: true, committed: partial };
  }

  private replay(line: LogLine): void {
    const strategy = this.strategies.find((s) => s.name === line.strategy);
    if (!strategy) {
      throw new EvolutionError({
        code: 'INVALID_OPTIONS',
        message: `the log ${this.log?.path} used the strategy "${line.strategy}", which this run does not have`,
        fix: `resume with the same strategies (${Object.keys(line.bandit).join(', ')}) or start a fresh log`,
      });
    }
    const parentScore = line.parent_id === null ? undefined : this.scores.get(line.parent_id);
    this.bandit.update(line.strategy, line.score === null ? 0 : this.reward(line.score, parentScore ?? null));
    this.scores.set(line.candidate_id, line.score);
    this.account(line);
    if (line.score !== null) {
      const stored = (this.log as EvolutionLog).loadCandidate(line.candidate_id);
      const candidate: Candidate = {
        id: line.candidate_id,
        generation: line.generation,
        score: line.score,
        ...stored,
        ...(line.parts ? { parts: line.parts } : {}),
      };
      this.population.offer(candidate);
      if (candidate.score > this.best.score) this.best = candidate;
    }
  }

  private account(line: LogLine): void {
    this.spending.addSpent({ totalTokens: line.tokens, costUsd: line.cost_usd });
    this.candidates += 1;
    if (line.score === null) this.failures += 1;
  }

  private async scoreBaseline(): Promise<void> {
    const started = performance.now();
    let evaluation: Evaluation;
    try {
      evaluation = await this.options.evaluator.evaluate(this.options.baseline, {
        candidateId: 'baseline',
        fileName: this.fileName,
        signal: this.controller.signal,
      });
    } catch (error) {
      if (this.stopReason === 'aborted' || isFatal(error)) throw error;
      throw new EvolutionError({
        code: 'EVALUATION_FAILED',
        message: `the baseline could not be scored: ${errorText(error)}`,
        fix:
          (UnityError.isInstance(error) ? error.fix : undefined) ??
          'run the evaluator on the baseline by hand and make it print a score',
        cause: error,
      });
    }
    this.baseline = {
      id: 'baseline',
      generation: 0,
      source: this.options.baseline,
      score: evaluation.score,
      ...(evaluation.feedback ? { feedback: evaluation.feedback } : {}),
      ...(evaluation.parts ? { parts: evaluation.parts } : {}),
    };
    this.best = this.baseline;
    this.population.offer(this.baseline);
    this.scores.set('baseline', evaluation.score);
    const line = this.commitLine({
      generation: 0,
      id: 'baseline',
      parentId: null,
      strategy: 'baseline',
      score: evaluation.score,
      tokens: evaluation.tokens ?? 0,
      costUsd: evaluation.costUsd ?? 0,
      ms: performance.now() - started,
      ...(evaluation.parts ? { parts: evaluation.parts } : {}),
      stored: { source: this.baseline.source, ...(evaluation.feedback ? { feedback: evaluation.feedback } : {}) },
    });
    this.account(line);
  }

  // ——— one generation ———

  /** Every choice of a generation is made up front from its starting state and a per-candidate seeded stream. */
  private plan(generation: number): Plan[] {
    const plans = Array.from({ length: this.offspring }, (_, k) => {
      const random = createRandom(this.seed, 'plan', generation, k);
      const arm = this.bandit.select(random);
      this.bandit.markPending?.(arm);
      const strategy = this.strategies.find((s) => s.name === arm) as Strategy;
      const parent = this.population.tournament(random);
      const other = this.population.other(parent, random, this.baseline);
      return { id: `${generation}-${k}`, k, strategy, parent, other };
    });
    this.bandit.clearPending?.();
    return plans;
  }

  private async runGeneration(generation: number, plans: Plan[], committed: LogLine[]): Promise<void> {
    const done = new Map<number, Outcome>();
    let next = committed.length;
    for (const line of committed) this.replay(line);
    let nextToCommit = committed.length;
    const commitReady = async () => {
      while (done.has(nextToCommit)) {
        const outcome = done.get(nextToCommit) as Outcome;
        done.delete(nextToCommit);
        nextToCommit += 1;
        if (this.controller.signal.aborted) return;
        await this.commit(generation, outcome);
      }
    };
    let fatal: unknown;
    const worker = async () => {
      while (next < plans.length && !this.controller.signal.aborted && fatal === undefined) {
        const plan = plans[next++] as Plan;
        const outcome = await this.attempt(plan);
        if (outcome.error !== undefined && (isFatal(outcome.error) || this.controller.signal.aborted)) {
          if (isFatal(outcome.error)) fatal ??= outcome.error;
          this.controller.abort();
          return;
        }
        done.set(plan.k, outcome);
        await commitReady();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, plans.length) }, worker));
    if (fatal !== undefined) throw fatal;
  }

  private async attempt(plan: Plan): Promise<Outcome> {
    const started = performance.now();
    let tokens = 0;
    let costUsd = 0;
    let call = 0;
    const signal = this.controller.signal;
    const outcome = (rest: Partial<Outcome>): Outcome => ({
      plan,
      tokens,
      costUsd,
      ms: performance.now() - started,
      ...rest,
    });
    let source: string;
    try {
      source = await plan.strategy.propose({
        parent: plan.parent,
        other: plan.other,
        baseline: this.baseline,
        fileName: this.fileName,
        random: createRandom(this.seed, 'strategy', plan.id),
        signal,
        chat: async (messages, o = {}) => {
          const response = await this.coder.chat({
            messages,
            temperature: o.temperature ?? this.options.temperature ?? 0.7,
            ...(o.maxOutputTokens !== undefined || this.options.maxOutputTokens !== undefined
              ? { maxOutputTokens: o.maxOutputTokens ?? this.options.maxOutputTokens }
              : {}),
            seed: deriveSeed(this.seed, plan.id, call++),
            signal,
          });
          tokens += response.usage.totalTokens;
          costUsd += costUsdOf(response.usage, response.model, this.options.budget?.prices);
          return response.content;
        },
      });
      if (source === plan.parent.source) {
        throw new EvolutionError({
          code: 'BAD_REPLY',
          message: `the ${plan.strategy.name} reply left the parent unchanged`,
        });
      }
    } catch (error) {
      return outcome({ error });
    }
    try {
      const evaluation = await this.options.evaluator.evaluate(source, {
        candidateId: plan.id,
        fileName: this.fileName,
        signal,
      });
      tokens += evaluation.tokens ?? 0;
      costUsd += evaluation.costUsd ?? 0;
      if (!(Number.isFinite(evaluation.score) && evaluation.score >= 0 && evaluation.score <= 100)) {
        throw new EvolutionError({
          code: 'EVALUATION_FAILED',
          message: `the evaluator ${this.options.evaluator.name} returned the score ${evaluation.score}, not a number 0–100`,
        });
      }
      return outcome({ source, evaluation });
    } catch (error) {
      return outcome({ source, error });
    }
  }

  /** Reward: the improvement over max(parent, baseline), as a share of the headroom left above it. */
  private reward(score: number, parentScore: number | null): number {
    const reference = Math.max(parentScore ?? this.baseline.score, this.baseline.score);
    if (score <= reference || reference >= 100) return 0;
    return (score - reference) / (100 - reference);
  }

  private async commit(generation: number, outcome: Outcome): Promise<void> {
    const { plan, evaluation } = outcome;
    const score = evaluation && outcome.error === undefined ? evaluation.score : null;
    this.bandit.update(plan.strategy.name, score === null ? 0 : this.reward(score, plan.parent.score));
    this.scores.set(plan.id, score);
    let newBest: Candidate | undefined;
    if (score !== null && evaluation && outcome.source !== undefined) {
      const candidate: Candidate = {
        id: plan.id,
        generation,
        source: outcome.source,
        score,
        ...(evaluation.feedback ? { feedback: evaluation.feedback } : {}),
        ...(evaluation.parts ? { parts: evaluation.parts } : {}),
      };
      this.population.offer(candidate);
      if (score > this.best.score) {
        this.best = candidate;
        newBest = candidate;
      }
    }
    const line = this.commitLine({
      generation,
      id: plan.id,
      parentId: plan.parent.id,
      strategy: plan.strategy.name,
      score,
      tokens: outcome.tokens,
      costUsd: outcome.costUsd,
      ms: outcome.ms,
      ...(score !== null && evaluation?.parts ? { parts: evaluation.parts } : {}),
      ...(score !== null && outcome.source !== undefined
        ? { stored: { source: outcome.source, ...(evaluation?.feedback ? { feedback: evaluation.feedback } : {}) } }
        : {}),
      ...(outcome.error !== undefined ? { error: `${plan.strategy.name}: ${errorText(outcome.error)}` } : {}),
    });
    this.account(line);
    if (newBest) {
      this.emit({ type: 'best', candidate: newBest });
      await this.checkHoldout(newBest);
    }
  }

  private commitLine(entry: {
    generation: number;
    id: string;
    parentId: string | null;
    strategy: string;
    score: number | null;
    tokens: number;
    costUsd: number;
    ms: number;
    parts?: Record<string, number>;
    stored?: { source: string; feedback?: string };
    error?: string;
  }): LogLine {
    if (entry.stored) this.log?.storeCandidate(entry.id, entry.stored);
    const line: LogLine = {
      ts: new Date().toISOString(),
      generation: entry.generation,
      candidate_id: entry.id,
      parent_id: entry.parentId,
      strategy: entry.strategy,
      score: entry.score,
      delta: entry.score === null ? null : entry.score - (this.baseline?.score ?? entry.score),
      best_score: this.best.score,
      bandit: this.bandit.stats(),
      tokens: entry.tokens,
      cost_usd: entry.costUsd,
      ms: Math.round(entry.ms * 1000) / 1000,
      ...(entry.parts ? { parts: entry.parts } : {}),
      ...(entry.error !== undefined ? { error: entry.error } : {}),
    };
    this.log?.append(line);
    this.emit({ type: 'candidate', line });
    return line;
  }

  private async checkHoldout(candidate: Candidate): Promise<void> {
    const holdout = this.options.holdout;
    if (!holdout) return;
    const threshold = this.options.holdoutThreshold ?? 15;
    try {
      const result = await holdout.evaluate(candidate.source, {
        candidateId: candidate.id,
        fileName: this.fileName,
        signal: this.controller.signal,
      });
      this.spending.addSpent({ totalTokens: result.tokens ?? 0, costUsd: result.costUsd ?? 0 });
      this.emit({ type: 'holdout', candidateId: candidate.id, score: candidate.score, holdoutScore: result.score });
      const gap = Math.abs(candidate.score - result.score);
      if (gap > threshold) {
        const message =
          `candidate ${candidate.id} scores ${candidate.score.toFixed(2)} with the evaluator but ${result.score.toFixed(2)} ` +
          `on the holdout (gap ${gap.toFixed(2)} > ${threshold}): the evaluator may be gamed (reward hacking)`;
        this.warnings.push(message);
        this.emit({ type: 'warning', kind: 'reward-hacking', candidateId: candidate.id, message });
      }
    } catch (error) {
      if (this.controller.signal.aborted) return;
      const message = `the holdout evaluator failed on candidate ${candidate.id}: ${errorText(error)}`;
      this.warnings.push(message);
      this.emit({
        type: 'holdout',
        candidateId: candidate.id,
        score: candidate.score,
        holdoutScore: null,
        error: message,
      });
      this.emit({ type: 'warning', kind: 'holdout-failed', candidateId: candidate.id, message });
    }
  }
}
