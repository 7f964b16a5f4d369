import { unityTsupConfig } from '../../tsup.shared.ts';

export default unityTsupConfig({
  entry: { index: 'src/index.ts', internal: 'src/internal.ts', 'model-store': 'src/model-store/index.ts' },
});
