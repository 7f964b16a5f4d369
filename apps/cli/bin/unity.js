#!/usr/bin/env node
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('unity: the CLI is not built yet.\nFix: run `npm run build` at the repository root.');
  process.exit(1);
}
await import(entry.href);
