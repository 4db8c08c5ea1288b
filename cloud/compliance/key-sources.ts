import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { HUB_IDENTITY_FILE, type HubIdentityFile } from '../identity/hub-identity.js'
import type { DeviceRecord } from '../devices/device-repository.js'
import type { ReleaseKeyRecord } from '../ota/release-key-repository.js'
import type { TrustedReleaseKey } from '../ota/trusted-release-keys.js'
import type { DatedKey } from './key-age-control.js'

/** When the hub identity key was made: `createdAt` in hub-identity.json (written by `cloudos hub init`); null if unreadable. */
export function hubIdentityCreatedAt(dataDir: string): number | null {
  try {
    const file = JSON.parse(readFileSync(join(dataDir, HUB_IDENTITY_FILE), 'utf8')) as Partial<HubIdentityFile>
    const at = typeof file.createdAt === 'string' ? Date.parse(file.createdAt) : Number.NaN
    return Number.isNaN(at) ? null : at
  } catch {
    return null
  }
}

/** A configured key file's modification time: the best date a PEM file offers (rewriting the file with a new key moves it). */
function fileTime(path: string): number | null {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}

/** Every key the hub relies on, dated: the hub identity, the trusted release keys, the active devices' keys. */
export function datedKeys(inputs: {
  hubId: string
  hubCreatedAt: number | null
  releaseKeys: readonly TrustedReleaseKey[]
  addedKeys: readonly ReleaseKeyRecord[]
  devices: readonly DeviceRecord[]
}): DatedKey[] {
  const addedAt = new Map(inputs.addedKeys.map((k) => [k.id, k.addedAt] as const))
  return [
    { kind: 'hub-identity', id: inputs.hubId, name: 'hub identity (audit head, hub documents)', createdAt: inputs.hubCreatedAt, dated: `${HUB_IDENTITY_FILE} createdAt` },
    ...inputs.releaseKeys.map((k): DatedKey =>
      k.source === 'admin'
        ? { kind: 'release-key', id: k.id, name: k.name, createdAt: addedAt.get(k.id) ?? null, dated: 'added to the hub (POST /v1/release-keys)' }
        : { kind: 'release-key', id: k.id, name: k.name, createdAt: fileTime(k.name), dated: 'key file modification time (ota.trustedKeyFiles)' },
    ),
    ...inputs.devices
      .filter((d) => d.status === 'active')
      .map((d): DatedKey => ({ kind: 'device-key', id: d.id, name: d.name, createdAt: d.enrolledAt, dated: 'device enrolment (the key is made on the device at enrolment)' })),
  ]
}
