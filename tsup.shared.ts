import { defineConfig, type Options } from 'tsup';

/**
 * The one build preset of every project: ESM + CJS with types for publishable libraries (`publint` and `attw` check
 * them), ESM only for apps and internal tools. `entry` maps output names to sources for packages with subpaths.
 */
export function unityTsupConfig(options: { entry?: Options['entry']; esmOnly?: boolean; dts?: boolean } = {}) {
  return defineConfig({
    entry: options.entry ?? ['src/index.ts'],
    format: options.esmOnly ? ['esm'] : ['esm', 'cjs'],
    dts: options.dts ?? true,
    sourcemap: true,
    clean: true,
    target: 'node20',
  });
}
