#!/usr/bin/env node
// The compiled CLI: npm's `prepare` step builds dist/ on `npm install` / `npm ci`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('adbfleet: dist/ is missing (installed with --ignore-scripts?): run `npm run build` first\n');
  process.exit(1);
}
await import(entry.href);
