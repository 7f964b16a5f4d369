export type CheckStatus = 'ok' | 'warn' | 'fail';

/** The outcome of one health check: a status, what was found, and the fix as a command where there is one. */
export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  message: string;
  fix?: string;
  /** Whether a failure of this check makes the whole setup unusable (`unity doctor` exits non-zero). */
  required: boolean;
  ms: number;
}

export interface Check {
  id: string;
  title: string;
  required: boolean;
  run(signal?: AbortSignal): Promise<Omit<CheckResult, 'id' | 'title' | 'required' | 'ms'>>;
}

/** Run checks concurrently; a check that throws is reported as a failure with its message, never lost. */
export async function runChecks(checks: readonly Check[], signal?: AbortSignal): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (check) => {
      const started = performance.now();
      const base = { id: check.id, title: check.title, required: check.required };
      try {
        const outcome = await check.run(signal);
        return { ...base, ...outcome, ms: performance.now() - started };
      } catch (error) {
        return {
          ...base,
          status: 'fail' as const,
          message: `check crashed: ${error instanceof Error ? error.message : String(error)}`,
          ms: performance.now() - started,
        };
      }
    }),
  );
}

/** The worst status among results that count: a failed optional check only warns. */
export function overallStatus(results: readonly CheckResult[]): CheckStatus {
  let worst: CheckStatus = 'ok';
  for (const r of results) {
    const effective = r.status === 'fail' && !r.required ? 'warn' : r.status;
    if (effective === 'fail') return 'fail';
    if (effective === 'warn') worst = 'warn';
  }
  return worst;
}

/** Node.js version supported by Unity (20.10 or newer). */
export function nodeVersionCheck(version: string = process.versions.node): Check {
  return {
    id: 'node-version',
    title: 'Node.js version',
    required: true,
    async run() {
      const [major = 0, minor = 0] = version.split('.').map(Number);
      if (major > 20 || (major === 20 && minor >= 10)) return { status: 'ok', message: `Node.js ${version}` };
      return {
        status: 'fail',
        message: `Node.js ${version} is too old: Unity needs 20.10 or newer`,
        fix: 'install Node.js 20 LTS or newer (e.g. `nvm install 20`)',
      };
    },
  };
}
