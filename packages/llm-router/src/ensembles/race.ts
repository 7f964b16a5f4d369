import type { RouterResponse, RouterStreamEvent } from '../router-types';
import type { EnsembleTarget } from './ensemble-config';
import type { CallResult, EnsembleRun } from './ensemble-run';

/** One member in the race: its own stream, and the controller that cancels it. */
interface Entrant {
  index: number;
  target: EnsembleTarget;
  controller: AbortController;
  /** performance.now() at its start. */
  startedAt: number;
  iterator: AsyncIterator<RouterStreamEvent>;
  /** Its next event being read; never rejects. */
  pending?: Promise<Step>;
  firstTokenMs?: number;
  result?: CallResult;
}

type Step = { entrant: Entrant; next: IteratorResult<RouterStreamEvent> } | { entrant: Entrant; error: unknown };

/** How the contest ended: a winner, with its whole answer when it is known already (chat). */
type Decided = { winner: Entrant; answer?: RouterResponse } | undefined;

/**
 * `race`: members answer at once (within `concurrency`), or one after the other with hedging — the next member starts
 * when no member has given a first token for `hedge_after_ms`, or for the `hedge` percentile (`p95`) of the previous
 * member's recent times to first token (`hedge_after_ms`, if set, until a few are known; at once without it). The
 * first valid answer wins: whole (chat), or — streamed — the first member to give a first token, whose tokens are
 * streamed from then on. The others are cancelled: their requests are aborted upstream. Every member failing is
 * `ENSEMBLE_FAILED`.
 */
export async function* race(run: EnsembleRun): AsyncGenerator<RouterStreamEvent, void> {
  const contest = new Race(run);
  try {
    const decided = yield* contest.decide();
    if (!decided) {
      throw run.cannotDecide('no member gave an answer', 'apply the fix of any one member below', contest.calls());
    }
    const { winner } = decided;
    const answer = decided.answer ?? (yield* contest.forward(winner));
    if (!answer) return;
    contest.cancelOthers(winner);
    await contest.settled();
    const response = run.respond(answer, contest.results(), {
      strategy: 'race',
      index: winner.index,
      hedges: contest.hedges,
    });
    yield { type: 'finish', response };
  } finally {
    contest.close();
  }
}

/** The members' state during one race. */
class Race {
  readonly hedges: { index: number; afterMs: number }[] = [];
  private readonly entrants: Entrant[] = [];
  private readonly settling: Promise<void>[] = [];
  private readonly limit: number;
  private readonly hedging: boolean;
  /** Some member gave a first token: no more hedges. */
  private firstToken = false;

  constructor(private readonly run: EnsembleRun) {
    const { settings, members } = run;
    this.limit = settings.concurrency ?? members.length;
    this.hedging = settings.hedge !== undefined || settings.hedge_after_ms !== undefined;
  }

  /**
   * Run the members until one wins: the first whole valid answer (chat), or the first token (stream, yielded as the
   * start of the answer). Undefined when every member failed, or the run was stopped.
   */
  async *decide(): AsyncGenerator<RouterStreamEvent, Decided> {
    const { run } = this;
    this.start();
    for (;;) {
      if (run.signal.aborted) return undefined;
      this.startDue();
      const step = await this.nextStep();
      if (step === undefined) return undefined;
      if (step === 'hedge') continue;
      const { entrant } = step;
      entrant.pending = undefined;
      if ('error' in step) this.fail(entrant, step.error);
      else if (step.next.done) this.fail(entrant, new Error('the stream ended without a finish event'));
      else if (step.next.value.type === 'error') this.fail(entrant, step.next.value.error);
      else if (step.next.value.type === 'finish') {
        const { response } = step.next.value;
        entrant.result = run.answered(entrant.target, response, performance.now() - entrant.startedAt);
        // An empty answer is no answer: the race goes on.
        if (!entrant.result.response) continue;
        this.firstTokenOf(entrant);
        entrant.result.trace.firstTokenMs = entrant.firstTokenMs;
        return { winner: entrant, answer: response };
      } else {
        this.firstTokenOf(entrant);
        if (run.kind === 'stream') {
          // Committed: this member's tokens are the answer from now on.
          this.cancelOthers(entrant);
          yield step.next.value;
          return { winner: entrant };
        }
        this.pull(entrant);
      }
    }
  }

  /** Stream the committed winner's events to its finish; undefined after its failure (ended with an error event). */
  async *forward(winner: Entrant): AsyncGenerator<RouterStreamEvent, RouterResponse | undefined> {
    const { run } = this;
    for (;;) {
      let failure: unknown;
      try {
        const next = await winner.iterator.next();
        if (next.done) failure = new Error('the stream ended without a finish event');
        else if (next.value.type === 'error') failure = next.value.error;
        else if (next.value.type === 'finish') {
          winner.result = run.answered(winner.target, next.value.response, performance.now() - winner.startedAt);
          winner.result.trace.firstTokenMs = winner.firstTokenMs;
          return next.value.response;
        } else {
          yield next.value;
          continue;
        }
      } catch (error) {
        failure = error;
      }
      this.fail(winner, failure);
      yield { type: 'error', error: run.interrupted(winner.target.name, failure, this.results()) };
      return undefined;
    }
  }

  /** Cancel every member still running but the winner; `settled()` waits until each has let go. */
  cancelOthers(winner: Entrant): void {
    const losers = this.entrants.filter((e) => e !== winner && !e.result);
    // Their waits so far are not counted as times to first token: a lower bound fed back into the percentile would
    // raise the next hedge delay each time a hedge wins, until hedging stopped helping.
    for (const loser of losers) {
      loser.controller.abort(new Error(`member ${winner.index + 1} (${winner.target.name}) won the race`));
      const result = this.cancelled(loser, `another member (${winner.target.name}) answered first`);
      loser.result = result;
      // The router's error for the aborted call carries its attempts.
      const settled = loser.pending?.then((step) => {
        if ('error' in step) result.attempts = this.run.failed(loser.target, step.error, 0).attempts;
      });
      if (settled) this.settling.push(settled);
    }
  }

  /** Every cancelled member has let go (its attempts are known). */
  async settled(): Promise<void> {
    await Promise.all(this.settling);
  }

  /** Each member's result in member order, those never started included. */
  results(): CallResult[] {
    return this.run.members.map((target, index) => {
      const entrant = this.entrants[index];
      if (entrant) return entrant.result ?? this.cancelled(entrant, 'still running when the ensemble ended');
      return { trace: { member: target.name, model: target.model, status: 'not-started', latencyMs: 0 }, attempts: [] };
    });
  }

  /** Each member's result, undefined for those never started (for the failure message). */
  calls(): (CallResult | undefined)[] {
    return this.run.members.map((_, index) => this.entrants[index]?.result);
  }

  /** Whatever ended the race (an answer, a failure, the consumer leaving): no member keeps running. */
  close(): void {
    for (const entrant of this.entrants) {
      if (!entrant.result) entrant.controller.abort(new Error('the ensemble no longer needs this answer'));
      void entrant.iterator.return?.().catch(() => undefined);
    }
  }

  private running(): Entrant[] {
    return this.entrants.filter((e) => !e.result);
  }

  private start(): void {
    const { run } = this;
    const index = this.entrants.length;
    const target = run.members[index]!;
    const controller = new AbortController();
    const request = run.requestFor(target, AbortSignal.any([run.signal, controller.signal]));
    const iterator = run.host.stream(request)[Symbol.asyncIterator]();
    const entrant: Entrant = { index, target, controller, startedAt: performance.now(), iterator };
    if (index > 0 && this.hedging) this.hedges.push({ index, afterMs: Math.round(run.elapsed()) });
    this.entrants.push(entrant);
    this.pull(entrant);
  }

  /** Start who may start now: everyone up to the limit, or — hedging — the next one once it is due. */
  private startDue(): void {
    while (this.entrants.length < this.run.members.length && this.running().length < this.limit) {
      const waiting = this.running().length > 0 && (this.firstToken || performance.now() < this.dueAt());
      if (this.hedging && waiting) return;
      this.start();
    }
  }

  /** When the next member is due: the previous one's start plus its hedge delay. */
  private dueAt(): number {
    const { settings, latencies } = this.run;
    const previous = this.entrants.at(-1)!;
    const learnt = settings.hedge ? latencies.percentile(previous.target.model, settings.hedge) : undefined;
    return previous.startedAt + (learnt ?? settings.hedge_after_ms ?? 0);
  }

  /** The next event of any running member, or `hedge` when the next member is due first; undefined: none runs. */
  private async nextStep(): Promise<Step | 'hedge' | undefined> {
    const inFlight = this.running();
    if (inFlight.length === 0) return undefined;
    const more = this.entrants.length < this.run.members.length && inFlight.length < this.limit;
    let timer: NodeJS.Timeout | undefined;
    const hedge =
      this.hedging && !this.firstToken && more
        ? new Promise<'hedge'>((resolve) => {
            timer = setTimeout(() => resolve('hedge'), Math.max(0, this.dueAt() - performance.now()));
          })
        : undefined;
    try {
      return await Promise.race([...inFlight.map((e) => e.pending!), ...(hedge ? [hedge] : [])]);
    } finally {
      clearTimeout(timer);
    }
  }

  private pull(entrant: Entrant): void {
    entrant.pending = entrant.iterator.next().then(
      (next) => ({ entrant, next }),
      (error: unknown) => ({ entrant, error }),
    );
  }

  private fail(entrant: Entrant, error: unknown): void {
    entrant.result = this.run.failed(entrant.target, error, performance.now() - entrant.startedAt);
  }

  private firstTokenOf(entrant: Entrant): void {
    if (entrant.firstTokenMs !== undefined) return;
    entrant.firstTokenMs = performance.now() - entrant.startedAt;
    this.run.latencies.record(entrant.target.model, entrant.firstTokenMs);
    this.firstToken = true;
  }

  /** The result of a member stopped before it answered. */
  private cancelled(entrant: Entrant, why: string): CallResult {
    return {
      trace: {
        member: entrant.target.name,
        model: entrant.target.model,
        status: 'cancelled',
        latencyMs: performance.now() - entrant.startedAt,
        ...(entrant.firstTokenMs !== undefined ? { firstTokenMs: entrant.firstTokenMs } : {}),
        error: { code: 'CANCELLED', message: why },
      },
      attempts: [],
    };
  }
}
