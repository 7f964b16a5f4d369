import type { ChatMessage, Usage } from '@unity/core';
import { attemptError } from '../attempt-report';
import type { UnityConfig } from '../config-schema';
import { type Attempt, RouterError } from '../errors';
import { requestDeadline } from '../request-scope';
import type { RouterRequest, RouterResponse, RouterStreamEvent } from '../router-types';
import { ConcurrencyLimit } from './concurrency-limit';
import { type EnsembleSettings, type EnsembleTarget, resolveTarget } from './ensemble-config';
import type { EnsembleCallTrace, EnsembleDecision, EnsembleTrace } from './ensemble-types';
import type { LatencyWindow } from './latency-window';

/** What an ensemble needs of the router: its config, and its own chat and stream for each member call. */
export interface EnsembleHost {
  readonly config: UnityConfig;
  chat(request: RouterRequest): Promise<RouterResponse>;
  stream(request: RouterRequest): AsyncIterable<RouterStreamEvent>;
}

/** One call's outcome: its trace, the answer when there is one, and the router's attempts for it. */
export interface CallResult {
  trace: EnsembleCallTrace;
  response?: RouterResponse;
  attempts: Attempt[];
}

/** A member's answer with text, which judge and fuse decide between; `index` is its entry of the members. */
interface Candidate {
  index: number;
  response: RouterResponse;
}

/**
 * What the members of a judge or fuse gave: every call, and its answers with text (at least one); or, when no answer
 * has text but one has tool calls, the ensemble's answer already decided (the first tool-call answer stands).
 */
type MemberAnswers =
  | { decided: false; results: CallResult[]; candidates: [Candidate, ...Candidate[]] }
  | { decided: true; response: RouterResponse };

/** An answer a strategy can use: text, or tool calls. */
function hasAnswer(response: RouterResponse): boolean {
  return response.content.trim() !== '' || response.toolCalls.length > 0;
}

const hasText = (response: RouterResponse): boolean => response.content.trim() !== '';

const addUsage = (a: Usage, b: Usage | undefined): Usage =>
  b
    ? {
        inputTokens: a.inputTokens + b.inputTokens,
        outputTokens: a.outputTokens + b.outputTokens,
        totalTokens: a.totalTokens + b.totalTokens,
      }
    : a;

/**
 * One request to an ensemble: its members resolved, one signal that stops every call (the caller's, the deadline's),
 * the concurrency limit, and the helpers each strategy shares — calling a member, tracing it, pricing it, failing
 * with every member's failure named, and assembling the answer.
 */
export class EnsembleRun {
  /** `ensemble/<name>`. */
  readonly model: string;
  readonly members: EnsembleTarget[];
  /** Aborted by the caller's signal or the deadline: every call of the run listens to it. */
  readonly signal: AbortSignal;
  readonly limit: ConcurrencyLimit;
  private readonly started = performance.now();
  private readonly controller = new AbortController();
  private readonly deadlineSetting: string | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private deadlinePassed = false;

  constructor(
    readonly host: EnsembleHost,
    readonly name: string,
    readonly settings: EnsembleSettings,
    readonly request: RouterRequest,
    readonly kind: 'chat' | 'stream',
    readonly latencies: LatencyWindow,
  ) {
    this.model = `ensemble/${name}`;
    this.members = settings.members.map((m) => this.target(m));
    this.signal = request.signal ? AbortSignal.any([request.signal, this.controller.signal]) : this.controller.signal;
    this.limit = new ConcurrencyLimit(settings.concurrency ?? Number.POSITIVE_INFINITY);
    const deadline = requestDeadline(request, host.config);
    if (deadline) {
      const { ms, setting } = deadline;
      this.deadlineSetting = setting;
      this.timer = setTimeout(() => {
        this.deadlinePassed = true;
        this.controller.abort(new Error(`the ensemble's deadline passed (${setting})`));
      }, ms);
    }
  }

  /** A member, judge or fuser by name: a model string, or a role for `models.<role>`. */
  target(name: string): EnsembleTarget {
    return resolveTarget(name, this.host.config.models);
  }

  /** Milliseconds since the request. */
  elapsed(): number {
    return performance.now() - this.started;
  }

  /**
   * The request for one member call: the caller's, with the member's model (and role), `signal`, and `overrides`.
   * The request's deadline is the run's (its timer aborts `signal`), not each call's.
   */
  requestFor(target: EnsembleTarget, signal: AbortSignal, overrides: Partial<RouterRequest> = {}): RouterRequest {
    const { model: _model, signal: _signal, deadlineMs: _deadline, ...rest } = this.request;
    return { ...rest, ...overrides, model: target.model, ...(target.role ? { role: target.role } : {}), signal };
  }

  /**
   * A request of the ensemble's own (the judge's, the fuser's): `messages`, with the caller's routing fields (privacy,
   * role, cache settings, end user, output cap) but none of its tools, output format or sampling options.
   */
  asideRequest(target: EnsembleTarget, messages: ChatMessage[]): RouterRequest {
    const {
      model: _model,
      signal: _signal,
      deadlineMs: _deadline,
      messages: _messages,
      tools: _tools,
      toolChoice: _toolChoice,
      parallelToolCalls: _parallel,
      responseFormat: _format,
      logprobs: _logprobs,
      stop: _stop,
      temperature: _temperature,
      topP: _topP,
      topK: _topK,
      seed: _seed,
      frequencyPenalty: _frequency,
      presencePenalty: _presence,
      reasoningEffort: _effort,
      ...kept
    } = this.request;
    return {
      ...kept,
      messages,
      model: target.model,
      ...(target.role ? { role: target.role } : {}),
      signal: this.signal,
    };
  }

  /** Ask one target for a whole answer, within the concurrency limit. Never throws: a failure is a failed result. */
  ask(target: EnsembleTarget, request: RouterRequest, sample?: number): Promise<CallResult> {
    return this.limit.run(async () => {
      const began = performance.now();
      try {
        const response = await this.host.chat(request);
        return this.answered(target, response, performance.now() - began, sample);
      } catch (error) {
        return this.failed(target, error, performance.now() - began, sample);
      }
    });
  }

  /**
   * judge and fuse: ask every member at once, and keep the answers with text as candidates. Answers that are only tool
   * calls are not judged or fused: when no answer has text, the first of them (in member order) stands, and the
   * decision says why. Throws the caller's abort or the passed deadline, and `ENSEMBLE_FAILED` when no member answered.
   */
  async askMembers(strategy: 'judge' | 'fuse'): Promise<MemberAnswers> {
    const results = await Promise.all(
      this.members.map((target) => this.ask(target, this.requestFor(target, this.signal))),
    );
    const stopped = this.stopped(results);
    if (stopped) throw stopped;
    const answers = results.flatMap((result, index) => (result.response ? [{ index, response: result.response }] : []));
    const candidates = answers.filter((answer) => hasText(answer.response));
    const [first, ...rest] = candidates;
    if (first) return { decided: false, results, candidates: [first, ...rest] };
    const toolCalls = answers.find((answer) => answer.response.toolCalls.length > 0);
    if (!toolCalls) {
      throw this.cannotDecide(
        `no member gave an answer to ${strategy}`,
        'apply the fix of any one member below',
        results,
      );
    }
    const member = results[toolCalls.index]!.trace.member;
    const reason = `no member answered with text to ${strategy}; ${member} (member ${toolCalls.index + 1}) answered with tool calls only, so its answer stands`;
    const decision = { strategy, index: toolCalls.index, by: 'tool-calls', candidates: 0, reason } as const;
    return { decided: true, response: this.respond(toolCalls.response, results, decision) };
  }

  /** The trace of an answer; an empty one (no text, no tool call) counts as a failure. */
  answered(target: EnsembleTarget, response: RouterResponse, ms: number, sample?: number): CallResult {
    const answeredBy = response.attempts.find((a) => a.ok)?.model ?? target.model;
    const costUsd = this.costOf(answeredBy, response.usage);
    const trace: EnsembleCallTrace = {
      member: target.name,
      model: target.model,
      status: 'answered',
      ...(sample !== undefined ? { sample } : {}),
      answer: response.content,
      answeredBy,
      latencyMs: ms,
      usage: response.usage,
      ...(costUsd !== undefined ? { costUsd } : {}),
    };
    if (!hasAnswer(response)) {
      trace.status = 'failed';
      trace.error = { code: 'EMPTY_ANSWER', message: `${answeredBy} answered with neither text nor a tool call` };
      return { trace, attempts: response.attempts };
    }
    return { trace, response, attempts: response.attempts };
  }

  failed(
    target: EnsembleTarget,
    error: unknown,
    ms: number,
    sample?: number,
    status: 'failed' | 'cancelled' = 'failed',
  ): CallResult {
    return {
      trace: {
        member: target.name,
        model: target.model,
        status,
        ...(sample !== undefined ? { sample } : {}),
        latencyMs: ms,
        error: attemptError(error),
      },
      attempts: RouterError.isInstance(error) ? error.attempts : [],
    };
  }

  /** US dollars of a call, when the ensemble's `prices` name the model that answered. */
  private costOf(modelString: string, usage: Usage): number | undefined {
    const price = this.settings.prices?.[modelString];
    if (!price) return undefined;
    return (usage.inputTokens * price.input_per_mtok + usage.outputTokens * price.output_per_mtok) / 1_000_000;
  }

  /**
   * The caller's abort or the passed deadline as the router's own error (`ABORTED`, `DEADLINE_EXCEEDED`) with every
   * attempt so far; undefined while neither happened.
   */
  stopped(calls: readonly (CallResult | undefined)[]): RouterError | undefined {
    if (!this.signal.aborted) return undefined;
    const attempts = calls.flatMap((c) => c?.attempts ?? []);
    if (this.deadlinePassed && !this.request.signal?.aborted) {
      return new RouterError({
        code: 'DEADLINE_EXCEEDED',
        message: `${this.model} gave no answer within the request's deadline (${this.deadlineSetting})`,
        fix: 'raise the deadline, or give the ensemble fewer or faster members',
        attempts,
      });
    }
    return new RouterError({
      code: 'ABORTED',
      message: 'the request was aborted by the caller',
      attempts,
      cause: this.request.signal?.reason,
    });
  }

  /** `ENSEMBLE_FAILED`: why the strategy cannot decide, then each call and its failure. */
  cannotDecide(why: string, fix: string, calls: readonly (CallResult | undefined)[]): RouterError {
    const stopped = this.stopped(calls);
    if (stopped) return stopped;
    const lines = calls.map((call, i) => {
      if (!call) return `  ${i + 1}. ${this.settings.members[i] ?? '?'} was not asked`;
      const { trace } = call;
      const which = `${trace.member}${trace.member !== trace.model ? ` (${trace.model})` : ''}${trace.sample !== undefined ? ` sample ${trace.sample}` : ''}`;
      const what =
        trace.status === 'answered'
          ? `answered${trace.extracted === undefined && this.settings.strategy === 'vote' ? ' with no final answer to count' : ''}`
          : `${trace.status}: ${(trace.error?.message ?? 'no answer').replace(/\n/g, '\n     ')} [${trace.error?.code ?? 'ERROR'}]`;
      return `  ${i + 1}. ${which} ${what}`;
    });
    return new RouterError({
      code: 'ENSEMBLE_FAILED',
      message: `${this.model} (${this.settings.strategy}) could not decide: ${why}\n${lines.join('\n')}`,
      fix,
      attempts: calls.flatMap((c) => c?.attempts ?? []),
    });
  }

  /**
   * The ensemble's answer: text, tool calls, finish reason, model and provider of `chosen`; the tokens of every call;
   * every call's attempts; and the trace.
   */
  respond(
    chosen: RouterResponse,
    members: readonly CallResult[],
    decision: EnsembleDecision,
    judge?: CallResult,
  ): RouterResponse {
    const calls = judge ? [...members, judge] : members;
    const usage = calls.reduce<Usage>((sum, c) => addUsage(sum, c.trace.usage), {
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: 0,
    });
    const priced = calls.filter((c) => c.trace.usage !== undefined);
    const costUsd = priced.every((c) => c.trace.costUsd !== undefined)
      ? priced.reduce((sum, c) => sum + (c.trace.costUsd ?? 0), 0)
      : undefined;
    const trace: EnsembleTrace = {
      name: this.name,
      strategy: this.settings.strategy,
      members: members.map((c) => c.trace),
      ...(judge ? { judge: judge.trace } : {}),
      decision,
      usage,
      ...(costUsd !== undefined && priced.length > 0 ? { costUsd } : {}),
      latencyMs: this.elapsed(),
    };
    return {
      content: chosen.content,
      toolCalls: chosen.toolCalls,
      ...(chosen.reasoning ? { reasoning: chosen.reasoning } : {}),
      ...(chosen.logprobs ? { logprobs: chosen.logprobs } : {}),
      usage,
      finishReason: chosen.finishReason,
      model: chosen.model,
      provider: chosen.provider,
      attempts: calls.flatMap((c) => c.attempts),
      ensemble: trace,
    };
  }

  /** The decided answer as a stream (in stream mode: its text at once, then its tool calls), then `finish`. */
  *finishWith(response: RouterResponse): Generator<RouterStreamEvent> {
    if (this.kind === 'stream') {
      if (response.reasoning) yield { type: 'reasoning-delta', text: response.reasoning };
      if (response.content) yield { type: 'text-delta', text: response.content };
      for (const toolCall of response.toolCalls) yield { type: 'tool-call', toolCall };
    }
    yield { type: 'finish', response };
  }

  /** A member's stream that broke off after its first token, as the ensemble's `STREAM_INTERRUPTED`. */
  interrupted(member: string, error: unknown, calls: readonly CallResult[]): RouterError {
    const { message, fix } = attemptError(error);
    return new RouterError({
      code: 'STREAM_INTERRUPTED',
      message: `${this.model}: the answer of ${member} broke off after it had started: ${message}`,
      ...(fix ? { fix } : {}),
      attempts: calls.flatMap((c) => c.attempts),
      cause: error,
    });
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
