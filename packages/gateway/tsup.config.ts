import { unityTsupConfig } from '../../tsup.shared.ts';

export default unityTsupConfig({ entry: { index: 'src/index.ts', 'run-report': 'src/run-report/index.ts' } });
