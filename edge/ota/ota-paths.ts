import { join } from 'node:path'

/** Where the updater and the supervisor keep their files under the data dir (docs/operations.md). */
export function otaPaths(dataDir: string) {
  const root = join(dataDir, 'ota')
  return {
    root,
    /** The slot state, written only by the supervisor (atomically). */
    slots: join(root, 'slots.json'),
    /** A verified, installed slot waiting to be switched to; written by the updater, consumed by the supervisor. */
    switchRequest: join(root, 'switch-request.json'),
    /** The updater's own progress and refusals. */
    updater: join(root, 'updater.json'),
    /** Reports waiting to be sent to the hub, one file each. */
    outbox: join(root, 'outbox'),
    staging: join(root, 'staging'),
    slotsDir: join(root, 'slots'),
    slot: (slot: 'a' | 'b') => join(root, 'slots', slot),
    /** Installed firmware and model versions by name. */
    installed: join(root, 'installed.json'),
    models: join(dataDir, 'models'),
  }
}

/** Exit code with which the edge asks its supervisor to switch slots and start it again. */
export const SWITCH_EXIT_CODE = 75
/** Marker written last into an installed slot: a slot without it is incomplete and never booted. */
export const SLOT_MARKER = '.cloudos-slot.json'
