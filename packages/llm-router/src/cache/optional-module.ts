import { describeError } from '@unity/core';
import { CacheError } from './cache-error';

/** The optional packages a cache store needs, with the versions the router is tested against. */
const cacheStorePackages = {
  sqlite: { name: 'node-sqlite3-wasm', range: '^0.8.60' },
  redis: { name: 'ioredis', range: '^5.11.1' },
} as const;

type StorePackage = keyof typeof cacheStorePackages;

const notFound = (error: unknown, name: string) => {
  const code = (error as { code?: unknown })?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String((error as Error).message).includes(`'${name}'`)
  );
};

/**
 * Load the package of `router.cache.store: <store>` on first use (it is an optional peer dependency of the router):
 * a missing one is a CacheError `NOT_INSTALLED` whose fix is the npm command.
 */
export async function loadStorePackage<T>(store: StorePackage, load: () => Promise<T>): Promise<T> {
  const { name, range } = cacheStorePackages[store];
  try {
    return await load();
  } catch (cause) {
    throw new CacheError({
      code: 'NOT_INSTALLED',
      message: notFound(cause, name)
        ? `router.cache.store: ${store} needs the ${name} package, which is not installed`
        : `router.cache.store: ${store}: ${name} failed to load: ${describeError(cause)}`,
      fix: `npm install ${name}@${range} (or set router.cache.store: memory)`,
      cause,
    });
  }
}
