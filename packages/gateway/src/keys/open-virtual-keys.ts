import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { PriceTable } from './prices';
import { openEmbeddedStores } from './sqlite-store';
import { VirtualKeys } from './virtual-keys';

/**
 * The gateway's data folder: `server.data_dir` (`~/` expanded, relative to `cwd`), else `~/.unity/gateway` — beside
 * the model store's default `~/.unity/models`, so that `unity serve` and `unity keys` find the same keys from any
 * working folder.
 */
export function gatewayDataDir(dataDir: string | undefined, cwd: string = process.cwd(), home = homedir()): string {
  if (dataDir === undefined) return join(home, '.unity', 'gateway');
  if (dataDir === '~' || dataDir.startsWith('~/')) return join(home, dataDir.slice(2));
  return isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir);
}

export interface OpenVirtualKeysOptions {
  /** The data folder (see `gatewayDataDir`). */
  dataDir: string;
  /** `server.prices`. */
  prices?: PriceTable;
  clock?: () => number;
}

/** Virtual keys over the embedded database in the data folder. Close it when done. */
export function openVirtualKeys(options: OpenVirtualKeysOptions): VirtualKeys {
  const stores = openEmbeddedStores(options.dataDir);
  return new VirtualKeys({
    ...stores,
    ...(options.prices ? { prices: options.prices } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
