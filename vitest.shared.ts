import { defineConfig } from 'vitest/config';

/**
 * Shared Vitest settings for every project: sources of sibling packages are resolved through the
 * `@unity/source` export condition (no build needed), and each project writes a JSON report that
 * `tools/scripts/test.mjs` sums into the closing `tests: N passed, N failed, N skipped` line.
 */
export function unityVitestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ['@unity/source'] },
    ssr: { resolve: { conditions: ['@unity/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: 20_000,
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
      pool: 'forks',
    },
  });
}
