import { unityTsupConfig } from '../../tsup.shared.ts';

export default unityTsupConfig({ entry: ['src/main.ts'], esmOnly: true, dts: false });
