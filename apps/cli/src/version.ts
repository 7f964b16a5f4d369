import { readFileSync } from 'node:fs';

/** The CLI's version, from its package.json (`src/` and the bundled `dist/` both sit one level below it). */
export const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
