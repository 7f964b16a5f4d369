import { unityTsupConfig } from '../../tsup.shared.ts';

export default unityTsupConfig();
