import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { otaPaths } from './ota-paths.js'

/** Releases the supervisor rolled back: the updater does not install them again (the hub's target may still name them). */
export type RolledBackReleases = Record<string, { code: string; reason: string; at: number }>

function path(dataDir: string): string {
  return join(otaPaths(dataDir).root, 'rolled-back.json')
}

export function readRolledBack(dataDir: string): RolledBackReleases {
  try {
    return existsSync(path(dataDir)) ? (JSON.parse(readFileSync(path(dataDir), 'utf8')) as RolledBackReleases) : {}
  } catch {
    return {}
  }
}

/** Written by the supervisor only. */
export function addRolledBack(dataDir: string, releaseId: string, code: string, reason: string): void {
  mkdirSync(otaPaths(dataDir).root, { recursive: true })
  writeFileAtomic(path(dataDir), JSON.stringify({ ...readRolledBack(dataDir), [releaseId]: { code, reason, at: Date.now() } }), 0o644)
}
