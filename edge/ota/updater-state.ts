import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import type { OtaDeviceState } from '../../shared/protocol/ota.js'
import { otaPaths } from './ota-paths.js'

export type UpdaterStage = 'downloading' | 'verifying' | 'installing' | 'switching'

/** <dataDir>/ota/updater.json: the update in progress and the releases already finished or refused. */
export interface UpdaterState {
  current: null | { releaseId: string; rolloutId: string; version: string; stage: UpdaterStage; at: number }
  /** Releases not to try again: installed (firmware, model) or refused with a code. */
  finished: Record<string, { state: OtaDeviceState; code?: string; at: number }>
}

export function readUpdaterState(dataDir: string): UpdaterState {
  const path = otaPaths(dataDir).updater
  try {
    if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as UpdaterState
  } catch {
    // Unreadable: start afresh; the hub's target and the slot state are authoritative.
  }
  return { current: null, finished: {} }
}

export function writeUpdaterState(dataDir: string, state: UpdaterState): void {
  mkdirSync(otaPaths(dataDir).root, { recursive: true })
  writeFileAtomic(otaPaths(dataDir).updater, `${JSON.stringify(state, null, 2)}\n`, 0o644)
}
