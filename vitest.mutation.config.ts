import { defineConfig } from 'vitest/config';

/**
 * The projects whose modules `npm run test:mutation` mutates (see stryker.config.mjs), as one Vitest run: Stryker's
 * runner starts a single Vitest, and each project keeps its own config (and so `../../vitest.shared.ts`, which the
 * sandbox copy holds because Stryker copies from the repository root).
 */
export default defineConfig({
  test: {
    projects: [
      'packages/core/vitest.config.ts',
      'packages/tools/vitest.config.ts',
      'packages/gateway/vitest.config.ts',
      'packages/llm-router/vitest.config.ts',
      'packages/convergence/vitest.config.ts',
      'packages/textgrad/vitest.config.ts',
    ],
  },
});
