/**
 * Mutation testing of the modules that hold a boundary or a decision (`npm run test:mutation`). Incremental: the
 * committed `stryker-incremental.json` lets a run test only the mutants of changed code and tests. Per-file score
 * floors are checked afterwards by tools/scripts/mutation-scores.mjs.
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  // Boundary modules (floor 85%) and decision modules (floor 80%): see tools/scripts/mutation-scores.mjs. The
  // gateway's request limits are Fastify hooks with no pure logic of their own: limits.test.ts covers them over HTTP.
  mutate: [
    'packages/tools/src/command/command-policy.ts',
    'packages/tools/src/sandbox.ts',
    // The pure parts of the OS sandbox: the bwrap argv and the environment allow-list. Not the probe or the runner
    // (processes), nor nodeInstallDir (it depends on where this machine's Node is installed).
    'packages/core/src/os-sandbox.ts:30-64',
    'packages/core/src/os-sandbox.ts:111-198',
    'packages/core/src/os-sandbox.ts:241-266',
    'packages/gateway/src/api-key.ts',
    // Virtual keys: the secrets, the rate windows and budgets (the in-process store; the Redis one runs the same
    // rules in Lua, covered by the replica tests), and the budget periods.
    'packages/gateway/src/keys/key-secret.ts',
    'packages/gateway/src/keys/memory-store.ts',
    'packages/gateway/src/keys/periods.ts',
    'packages/llm-router/src/circuit-breaker.ts',
    'packages/llm-router/src/retry-policy.ts',
    'packages/llm-router/src/tool-call-text.ts',
    'packages/llm-router/src/response-cache.ts',
    'packages/llm-router/src/request-options.ts',
    'packages/convergence/src/stuck-detector.ts',
    'packages/convergence/src/call-fingerprint.ts',
    'packages/convergence/src/reminders.ts',
    'packages/convergence/src/convergence-warnings.ts',
    'packages/textgrad/src/bandit.ts',
    'packages/textgrad/src/search-replace.ts',
  ],
  // The unit tests of those modules: no servers, no sandboxed processes, so that the CI step stays within minutes.
  // (os-sandbox.test.ts runs commands in bubblewrap, api-key.test.ts and request-options.test.ts go through a gateway
  // or the router with fake upstreams: they run in `npm test`; their .unit.test.ts siblings run here.)
  testFiles: [
    'packages/tools/src/command/command-policy.test.ts',
    'packages/tools/src/sandbox.test.ts',
    'packages/core/src/os-sandbox.unit.test.ts',
    'packages/gateway/src/api-key.unit.test.ts',
    'packages/gateway/src/keys/memory-store.test.ts',
    'packages/gateway/src/keys/keys-unit.test.ts',
    'packages/llm-router/src/circuit-breaker.test.ts',
    'packages/llm-router/src/retry-policy.test.ts',
    'packages/llm-router/src/tool-call-text.test.ts',
    'packages/llm-router/src/response-cache.test.ts',
    'packages/llm-router/src/request-options.unit.test.ts',
    'packages/convergence/src/stuck-detector.test.ts',
    'packages/convergence/src/call-fingerprint.test.ts',
    'packages/convergence/src/reminders.test.ts',
    'packages/convergence/src/convergence-warnings.test.ts',
    'packages/textgrad/src/bandit.test.ts',
    'packages/textgrad/src/search-replace.test.ts',
  ],
  // Copy only what those projects need into the sandbox (node_modules is linked, not copied).
  ignorePatterns: [
    '/*',
    '!/packages',
    '/packages/*',
    '!/packages/core',
    '!/packages/tools',
    '!/packages/gateway',
    '!/packages/llm-router',
    '!/packages/convergence',
    '!/packages/textgrad',
    '/packages/*/dist',
    '!/package.json',
    '!/tsconfig.base.json',
    '!/vitest.shared.ts',
    '!/vitest.mutation.config.ts',
  ],
  // Outside the repository, so that Nx, Biome and knip of the people working here never see the sandbox's copies.
  tempDirName: '/tmp/unity-stryker',
  incremental: true,
  incrementalFile: 'tools/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowEmojis: false, reportScoreTable: true, reportMutants: false },
  thresholds: { high: 90, low: 85, break: 80 },
  // Module-level constants (the allow/deny lists …) are static mutants: each would cost a run of every test, and
  // any test change would re-run them all in incremental mode. Tests enumerate those lists instead.
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 10_000,
};
