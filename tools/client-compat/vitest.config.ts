import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import { unityVitestConfig } from '../../vitest.shared.ts';
import { MatrixReporter } from './src/matrix/reporter.ts';

export default mergeConfig(unityVitestConfig(), {
  test: { reporters: [new MatrixReporter(fileURLToPath(new URL('.', import.meta.url)))] },
});
