import { unityVitestConfig } from '../../vitest.shared.ts';

// Every test here runs the built `unity` binary as a process, some loading the embedded engine and its model: on a
// loaded 2-core CI machine running Node 22 or 24 from a cold compile cache, that alone has taken over 20 s.
export default unityVitestConfig({ testTimeout: 60_000 });
