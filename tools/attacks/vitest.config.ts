import { unityVitestConfig } from '../../vitest.shared.ts';

export default unityVitestConfig({ testTimeout: 60_000 });
