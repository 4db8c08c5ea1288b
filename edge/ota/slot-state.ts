import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { SLOT_MARKER, otaPaths } from './ota-paths.js'

/** `factory`: the installation the supervisor runs from; `a`/`b`: runtime bundles installed under <dataDir>/ota/slots. */
export type SlotName = 'factory' | 'a' | 'b'

export interface SlotTrial {
  slot: SlotName
  version: string
  releaseId: string
  rolloutId: string
  startedAt: number
  /** Supervisor starts of this trial (a power cut mid-trial counts one more). */
  boots: number
}

/** <dataDir>/ota/slots.json: which slot boots, which one to roll back to, the trial in progress. */
export interface SlotState {
  active: SlotName
  previous: SlotName | null
  trial: SlotTrial | null
  updatedAt: number
}

/** What the updater writes into an installed slot (SLOT_MARKER) and into switch-request.json. */
export interface InstalledSlot {
  slot: 'a' | 'b'
  version: string
  releaseId: string
  rolloutId: string
  bundleId: string
  installedAt: number
}

export const INITIAL_SLOT_STATE: SlotState = { active: 'factory', previous: null, trial: null, updatedAt: 0 }

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

const SLOT_NAMES: readonly string[] = ['factory', 'a', 'b']

/**
 * Reads the slot state. A missing or unreadable file (it is written
 * atomically, so only a disk fault makes it unreadable) gives the factory slot:
 * always bootable.
 */
export function readSlotState(dataDir: string): SlotState {
  const state = readJson<SlotState>(otaPaths(dataDir).slots)
  if (state === undefined || !SLOT_NAMES.includes(state.active)) return { ...INITIAL_SLOT_STATE }
  return state
}

export function writeSlotState(dataDir: string, state: SlotState): void {
  const path = otaPaths(dataDir).slots
  mkdirSync(dirname(path), { recursive: true })
  writeFileAtomic(path, `${JSON.stringify({ ...state, updatedAt: Date.now() }, null, 2)}\n`, 0o644)
}

/** The marker of an installed slot, or undefined when the slot is absent or incomplete. */
export function readSlotMarker(dataDir: string, slot: 'a' | 'b'): InstalledSlot | undefined {
  return readJson<InstalledSlot>(join(otaPaths(dataDir).slot(slot), SLOT_MARKER))
}

/** A slot can boot when it is the factory or holds a complete install. */
export function slotBootable(dataDir: string, slot: SlotName): boolean {
  return slot === 'factory' || readSlotMarker(dataDir, slot) !== undefined
}

export function readSwitchRequest(dataDir: string): InstalledSlot | undefined {
  return readJson<InstalledSlot>(otaPaths(dataDir).switchRequest)
}

export function writeSwitchRequest(dataDir: string, request: InstalledSlot): void {
  writeFileAtomic(otaPaths(dataDir).switchRequest, `${JSON.stringify(request, null, 2)}\n`, 0o644)
}

/** The slot the updater installs into: never the active one, never the rollback target of a trial. */
export function inactiveSlot(state: SlotState): 'a' | 'b' {
  return state.active === 'a' ? 'b' : 'a'
}
