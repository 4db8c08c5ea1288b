import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { otaPaths } from './ota-paths.js'

/** Installed firmware, model and release key rotation versions by bundle name (<dataDir>/ota/installed.json). */
export interface InstalledVersions {
  firmware: Record<string, { version: string; releaseId: string; at: number }>
  model: Record<string, { version: string; releaseId: string; at: number; dir: string }>
  'release-keys': Record<string, { version: string; releaseId: string; at: number }>
}

export function readInstalled(dataDir: string): InstalledVersions {
  const path = otaPaths(dataDir).installed
  try {
    if (existsSync(path)) return { firmware: {}, model: {}, 'release-keys': {}, ...(JSON.parse(readFileSync(path, 'utf8')) as Partial<InstalledVersions>) }
  } catch {
    // Unreadable: treated as nothing installed (the hub's versions stay authoritative).
  }
  return { firmware: {}, model: {}, 'release-keys': {} }
}

export function writeInstalled(dataDir: string, installed: InstalledVersions): void {
  mkdirSync(otaPaths(dataDir).root, { recursive: true })
  writeFileAtomic(otaPaths(dataDir).installed, `${JSON.stringify(installed, null, 2)}\n`, 0o644)
}
