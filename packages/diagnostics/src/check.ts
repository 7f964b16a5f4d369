import { redactUrl } from '@unity/core';
/** `skip`: not run because a check it depends on failed (Ollama down → its models are not checked). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** What a check found: a status, a message, and the fix as a command where there is one. */
export interface CheckOutcome {
  /** A check may skip itself when what it needs is absent (no key: the endpoint is not tried). */
  status: CheckStatus;
  message: string;
  fix?: string;
  /**
   * For a check with a `provider`: whether that provider can serve. Defaults to "not failed or skipped"; a check sets
   * it where a warning still means the provider is unusable (no cloud key while the local fallback is on).
   */
  up?: boolean;
  /** Measured values for machines (`--json`, the monitor): latency, context length, bytes free … */
  data?: Record<string, string | number | boolean>;
}

/** The outcome of one health check, with the check's identity and how long it took. */
export interface CheckResult extends CheckOutcome {
  id: string;
  title: string;
  /** Whether a failure of this check makes the whole setup unusable (`unity doctor` exits non-zero). */
  required: boolean;
  /** The router provider whose availability this check decides (`ollama`, `minimax` …), if any. */
  provider?: string;
  ms: number;
}

export interface Check {
  /** Stable id (`ollama-reachable`, `model-pulled:qwen2.5-coder:7b`). */
  id: string;
  title: string;
  required: boolean;
  /** Ids of checks (earlier in the list) that must not fail for this one to run; otherwise it is skipped. */
  dependsOn?: readonly string[];
  /** The router provider whose availability this check decides; the health monitor's `isUp()` reads it. */
  provider?: string;
  run(signal?: AbortSignal): Promise<CheckOutcome>;
}

/**
 * Run checks concurrently; a check waits only for the checks it depends on, and is skipped when one of them failed.
 * A check that throws is reported as a failure with its message, never lost. Results keep the order of `checks`.
 */
export async function runChecks(checks: readonly Check[], signal?: AbortSignal): Promise<CheckResult[]> {
  const started = new Map<string, Promise<CheckResult>>();
  for (const check of checks) {
    const dependencies = (check.dependsOn ?? []).map((id) => {
      const dependency = started.get(id);
      if (!dependency) throw new TypeError(`check "${check.id}" depends on "${id}", which is not listed before it`);
      return dependency;
    });
    started.set(
      check.id,
      Promise.all(dependencies).then((done) => {
        if (signal?.aborted) return { ...identity(check), status: 'skip', message: 'not checked: aborted', ms: 0 };
        const failed = done.find((d) => d.status === 'fail' || d.status === 'skip');
        return failed ? skipped(check, failed) : runOne(check, signal);
      }),
    );
  }
  return Promise.all(started.values());
}

async function runOne(check: Check, signal: AbortSignal | undefined): Promise<CheckResult> {
  const startedAt = performance.now();
  const base = identity(check);
  try {
    const outcome = await check.run(signal);
    // Endpoints are named in messages and fixes: a password in a configured URL must not be.
    return {
      ...base,
      ...outcome,
      message: redactUrl(outcome.message),
      ...(outcome.fix === undefined ? {} : { fix: redactUrl(outcome.fix) }),
      ms: performance.now() - startedAt,
    };
  } catch (error) {
    return {
      ...base,
      status: 'fail',
      message: redactUrl(`check crashed: ${error instanceof Error ? error.message : String(error)}`),
      ms: performance.now() - startedAt,
    };
  }
}

/** Skipped for the root cause: a dependency that was itself skipped passes its reason on. */
function skipped(check: Check, failed: CheckResult): CheckResult {
  const message = failed.status === 'skip' ? failed.message : `not checked: ${failed.title} failed`;
  return { ...identity(check), status: 'skip', message, ms: 0 };
}

function identity(check: Check): Pick<CheckResult, 'id' | 'title' | 'required' | 'provider'> {
  return {
    id: check.id,
    title: check.title,
    required: check.required,
    ...(check.provider === undefined ? {} : { provider: check.provider }),
  };
}

/** The worst status among results that count: a failed optional check only warns; skipped checks do not count. */
export function overallStatus(results: readonly CheckResult[]): Exclude<CheckStatus, 'skip'> {
  let worst: 'ok' | 'warn' = 'ok';
  for (const r of results) {
    if (r.status === 'fail' && r.required) return 'fail';
    if (r.status === 'fail' || r.status === 'warn') worst = 'warn';
  }
  return worst;
}
