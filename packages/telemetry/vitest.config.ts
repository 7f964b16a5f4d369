import { unityVitestConfig } from '../../vitest.shared.ts';

export default unityVitestConfig();
