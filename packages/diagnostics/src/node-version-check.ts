import type { Check } from './check';

/** Node.js version supported by Unity (20.10 or newer). */
export function nodeVersionCheck(version: string = process.versions.node): Check {
  return {
    id: 'node-version',
    title: 'Node.js version',
    required: true,
    async run() {
      const [major = 0, minor = 0] = version.split('.').map(Number);
      if (major > 20 || (major === 20 && minor >= 10)) return { status: 'ok', message: `Node.js ${version}` };
      return {
        status: 'fail',
        message: `Node.js ${version} is too old: Unity needs 20.10 or newer`,
        fix: 'install Node.js 20 LTS or newer (e.g. `nvm install 20`)',
      };
    },
  };
}
