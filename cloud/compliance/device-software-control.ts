import semver from 'semver'
import type { DeviceRecord } from '../devices/device-repository.js'
import type { ReleaseRecord } from '../ota/release-repository.js'
import { BUNDLE_KINDS, type BundleKind } from '../../shared/protocol/ota.js'
import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

const DAY_MS = 86_400_000

type SoftwareEntry = ComplianceControls['deviceSoftware']['devices'][number]
type SoftwareProblem = SoftwareEntry['problems'][number]

export interface DeviceSoftwareInputs {
  /** Active (not revoked) devices; only those whose latest heartbeat carries `versions` are checked. */
  devices: readonly DeviceRecord[]
  releases: readonly ReleaseRecord[]
  /** Ids of the release keys the hub trusts now. */
  trustedKeyIds: ReadonlySet<string>
  /** Per device, the releases of rollouts that completed with the device in them. */
  completedReleaseIds: ReadonlyMap<string, ReadonlySet<string>>
  now: number
  outdatedAfterDays: number
}

const sameVersion = (a: string, b: string) => (semver.valid(a) !== null && semver.valid(b) !== null ? semver.eq(a, b) : a === b)

/** A release built for other architectures is not one this device should run. */
const targetsDevice = (release: ReleaseRecord, device: DeviceRecord) => {
  const arch = release.manifest.target.arch
  return arch === undefined || arch.length === 0 || arch.includes('*') || arch.includes(device.facts.arch)
}

/**
 * Devices on unsigned, expired or out-of-date software. For each component a
 * device reports in its latest heartbeat's `versions` (`runtime`, and
 * `firmware` / `model` when reported) that the hub holds releases of:
 * - unsigned: no release of that kind and version is stored on the hub signed
 *   by a key the hub still trusts (releases are stored only after their
 *   signature verified, so "stored" means "signed"; a release whose key was
 *   removed since no longer counts);
 * - expired: the matching release's manifest `expiresAt` has passed;
 * - out of date: a newer release (semver) of that kind, signed by a trusted
 *   key, built for the device's architecture and not expired, was either rolled out to the
 *   device by a completed rollout or uploaded more than `outdatedAfterDays`
 *   ago.
 * Components the hub holds no release of are listed as unmanaged, not failed.
 */
export function deviceSoftwareControl(inputs: DeviceSoftwareInputs): ComplianceControls['deviceSoftware'] {
  const { releases, trustedKeyIds, completedReleaseIds, now } = inputs
  const managed = new Set(releases.map((r) => r.kind))
  const unmanaged = new Set<string>()
  const entries: SoftwareEntry[] = []
  const findings: Finding[] = []
  let devicesChecked = 0
  for (const device of inputs.devices) {
    const versions = device.health?.health.versions
    if (device.status !== 'active' || versions === undefined) continue
    devicesChecked++
    for (const [component, version] of Object.entries(versions).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!(BUNDLE_KINDS as readonly string[]).includes(component)) continue
      if (!managed.has(component as BundleKind)) {
        unmanaged.add(component)
        continue
      }
      const ofKind = releases.filter((r) => r.kind === component)
      const running = ofKind.filter((r) => sameVersion(r.version, version))
      const problems: SoftwareProblem[] = []
      if (!running.some((r) => trustedKeyIds.has(r.signingKeyId))) problems.push('unsigned')
      else if (running.every((r) => Date.parse(r.manifest.expiresAt) <= now)) problems.push('expired')
      const rolledOut = completedReleaseIds.get(device.id) ?? new Set<string>()
      const newer = semver.valid(version) === null
        ? []
        : ofKind.filter(
            (r) =>
              semver.valid(r.version) !== null &&
              semver.gt(r.version, version) &&
              trustedKeyIds.has(r.signingKeyId) &&
              targetsDevice(r, device) &&
              Date.parse(r.manifest.expiresAt) > now &&
              (rolledOut.has(r.id) || r.uploadedAt <= now - inputs.outdatedAfterDays * DAY_MS),
          )
      const expected = newer.map((r) => r.version).sort(semver.rcompare)[0] ?? null
      if (expected !== null) problems.push('out-of-date')
      if (problems.length === 0) continue
      entries.push({ deviceId: device.id, name: device.name, component, version, problems, expectedVersion: expected })
      for (const problem of problems) {
        findings.push({
          subject: `device:${device.id}:${component}:${problem}`,
          severity: problem === 'out-of-date' ? 'warning' : 'critical',
          message:
            problem === 'unsigned'
              ? `device ${device.name} (${device.id}) runs ${component} ${version}, which no release signed by a trusted key provides`
              : problem === 'expired'
                ? `device ${device.name} (${device.id}) runs ${component} ${version}, whose release has expired`
                : `device ${device.name} (${device.id}) runs ${component} ${version}; ${expected ?? '?'} is due`,
        })
      }
    }
  }
  return {
    id: 'device-software',
    title: 'Devices on signed, current software',
    status: statusOf(findings),
    summary: `${devicesChecked} devices checked, ${new Set(entries.map((e) => e.deviceId)).size} on unsigned, expired or out-of-date software`,
    findings,
    outdatedAfterDays: inputs.outdatedAfterDays,
    devicesChecked,
    devices: entries,
    unmanagedComponents: [...unmanaged].sort(),
  }
}
