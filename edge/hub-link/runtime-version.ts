import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../../shared/package-root.js'

let cached: string | undefined

/** This CloudOS Lite build's version (package.json), reported in heartbeats as `versions.runtime`. */
export function runtimeVersion(): string {
  cached ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
  return cached
}
