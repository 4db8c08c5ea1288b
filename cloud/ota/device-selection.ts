import type { DeviceRecord, DeviceRepository } from '../devices/device-repository.js'
import type { RolloutTarget } from './rollout-repository.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'

function globMatches(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value)
}

/**
 * Whether the bundle's target fits the device as the hub knows it: arch (from
 * the enrolment facts) and tier. The hub does not know a device's hardware
 * model; the edge updater checks the whole target again before installing.
 */
export function bundleFitsDevice(manifest: BundleManifest, device: DeviceRecord): boolean {
  const known: Record<'arch' | 'tier', string> = { arch: device.facts.arch, tier: device.tier }
  for (const key of ['arch', 'tier'] as const) {
    const patterns = manifest.target[key]
    if (patterns === undefined || patterns.length === 0) continue
    if (!patterns.some((pattern) => globMatches(pattern, known[key]))) return false
  }
  return true
}

/** Active devices in the target (group and every label) and, separately, those of them the bundle does not fit. */
export async function selectRolloutDevices(devices: DeviceRepository, target: RolloutTarget, manifest: BundleManifest): Promise<{ selected: DeviceRecord[]; excludedByBundleTarget: DeviceRecord[] }> {
  const labels = Object.entries(target.labels ?? {})
  const [first] = labels
  const candidates = await devices.list({
    status: 'active',
    limit: Number.MAX_SAFE_INTEGER,
    ...(target.group === undefined ? {} : { group: target.group }),
    ...(first === undefined ? {} : { label: { key: first[0], value: first[1] } }),
  })
  const inTarget = candidates.filter((device) => labels.every(([key, value]) => device.labels[key] === value))
  return { selected: inTarget.filter((d) => bundleFitsDevice(manifest, d)), excludedByBundleTarget: inTarget.filter((d) => !bundleFitsDevice(manifest, d)) }
}
