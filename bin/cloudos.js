#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build`
// (run automatically by `npm ci` through the `prepare` script).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('cloudos: the build output is missing (dist/). Run `npm run build` (or `npm ci`) first.\n')
  process.exit(1)
}
await import(entry.href)
