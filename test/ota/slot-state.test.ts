import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ensureDiskSpace } from '../../edge/ota/disk-space.js'
import { SLOT_MARKER, otaPaths } from '../../edge/ota/ota-paths.js'
import { ReportOutbox } from '../../edge/ota/report-outbox.js'
import { inactiveSlot, readSlotState, slotBootable, writeSlotState } from '../../edge/ota/slot-state.js'
import { isCloudosError } from '../../shared/errors.js'
import { useTempDir } from '../helpers/temp-dir.js'

describe('OTA slot state', () => {
  it('boots the factory slot when slots.json is missing or unreadable', () => {
    const dataDir = useTempDir()
    expect(readSlotState(dataDir)).toMatchObject({ active: 'factory', previous: null, trial: null })
    mkdirSync(otaPaths(dataDir).root, { recursive: true })
    writeFileSync(otaPaths(dataDir).slots, '{"active": "a", "prev')
    expect(readSlotState(dataDir).active).toBe('factory')
    writeFileSync(otaPaths(dataDir).slots, '{"active": "../../etc"}')
    expect(readSlotState(dataDir).active).toBe('factory')
  })

  it('round-trips through the atomic write and leaves no temp file', () => {
    const dataDir = useTempDir()
    writeSlotState(dataDir, { active: 'a', previous: 'factory', trial: null, updatedAt: 0 })
    expect(readSlotState(dataDir)).toMatchObject({ active: 'a', previous: 'factory' })
    expect(readdirSync(otaPaths(dataDir).root)).toEqual(['slots.json'])
  })

  it('installs into the slot that is not active', () => {
    expect(inactiveSlot({ active: 'factory', previous: null, trial: null, updatedAt: 0 })).toBe('a')
    expect(inactiveSlot({ active: 'a', previous: 'factory', trial: null, updatedAt: 0 })).toBe('b')
    expect(inactiveSlot({ active: 'b', previous: 'a', trial: null, updatedAt: 0 })).toBe('a')
  })

  it('never boots a slot without its marker (an install cut short)', () => {
    const dataDir = useTempDir()
    mkdirSync(join(otaPaths(dataDir).slot('a'), 'dist'), { recursive: true })
    expect(slotBootable(dataDir, 'a')).toBe(false)
    writeFileSync(join(otaPaths(dataDir).slot('a'), SLOT_MARKER), JSON.stringify({ slot: 'a', version: '0.2.0' }))
    expect(slotBootable(dataDir, 'a')).toBe(true)
    expect(slotBootable(dataDir, 'factory')).toBe(true)
  })

  it('keeps reports in order in the outbox until removed', () => {
    const dataDir = useTempDir()
    const outbox = new ReportOutbox(dataDir)
    outbox.add({ rolloutId: 'r', releaseId: 'x', state: 'trial', runningVersion: '1.0.0', at: 2 })
    outbox.add({ rolloutId: 'r', releaseId: 'x', state: 'downloading', runningVersion: '1.0.0', at: 1 })
    const pending = new ReportOutbox(dataDir).pending()
    expect(pending.map((p) => p.report.state)).toEqual(['downloading', 'trial'])
    outbox.remove(pending[0]!.name)
    expect(outbox.pending().map((p) => p.report.state)).toEqual(['trial'])
  })
})

describe('OTA disk space check', () => {
  const refusal = (f: () => void) => {
    try {
      f()
    } catch (err) {
      if (isCloudosError(err)) return err
    }
    throw new Error('expected OTA_ERR_DISK_SPACE')
  }

  it('refuses a bundle larger than the staging budget', () => {
    const err = refusal(() => ensureDiskSpace(useTempDir(), 2000, { budgetBytes: 1000, minFreeBytes: 0 }, 'bundle x'))
    expect(err.code).toBe('OTA_ERR_DISK_SPACE')
    expect(err.message).toMatch(/staging budget of 1000/)
  })

  it('refuses when the free space would fall below the reserve', () => {
    const err = refusal(() => ensureDiskSpace(useTempDir(), 1, { budgetBytes: Number.MAX_SAFE_INTEGER, minFreeBytes: Number.MAX_SAFE_INTEGER }, 'bundle x'))
    expect(err.code).toBe('OTA_ERR_DISK_SPACE')
  })

  it('accepts what fits', () => {
    expect(() => ensureDiskSpace(useTempDir(), 1000, { budgetBytes: 10_000, minFreeBytes: 0 }, 'bundle x')).not.toThrow()
  })
})
