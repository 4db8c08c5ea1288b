import type { DeviceRecord } from '../devices/device-repository.js'
import type { HubConfig } from '../hub-config.js'
import type { HubIdentity } from '../identity/hub-identity.js'
import type { ReleaseRecord } from '../ota/release-repository.js'
import type { TrustedReleaseKeys } from '../ota/trusted-release-keys.js'
import type { HubStore } from '../store/hub-store.js'
import { adminMfaControl, FailedLoginTally } from './account-controls.js'
import { auditChainControl } from './audit-chain-control.js'
import { scanAuditLog } from './audit-scan.js'
import { deviceSoftwareControl } from './device-software-control.js'
import { keyAgeControl } from './key-age-control.js'
import { datedKeys } from './key-sources.js'
import { refusedConfigKeysControl } from './refused-config-keys-control.js'
import { COMPLIANCE_REPORT_FORMAT_VERSION, statusOf, type ComplianceControls, type ComplianceReport, type Finding } from './report-schema.js'
import { transportControl, type HubTransport } from './transport-control.js'

const HOUR_MS = 3_600_000
/** Page size when reading devices and releases: bounded memory per query, not per fleet. */
const PAGE = 1000

export interface ComplianceServiceOptions {
  store: HubStore
  identity: HubIdentity
  /** When the hub identity key was made (hub-identity.json), null if unknown. */
  identityCreatedAt: number | null
  trustedKeys: TrustedReleaseKeys
  /** How the hub serves its API now (TLS on or not): read at each report. */
  transport: () => HubTransport
  config: HubConfig['compliance']
  clock: () => number
}

/** One policy violation: a finding of a control, identified by (control, subject). */
export interface PolicyViolation extends Finding {
  control: string
}

/**
 * Builds the compliance report (UC-005) from the hub's own state: accounts,
 * the audit log and its signed head, keys, devices with their heartbeat
 * versions, releases and rollouts, config reports. Each control is a pure
 * function of what this gathers (cloud/compliance/*-control.ts).
 */
export class ComplianceService {
  constructor(private readonly options: ComplianceServiceOptions) {}

  /** The report as of now; failed logins are counted from `since` (default: failedLoginWindowHours ago). */
  async report(query: { since?: number } = {}): Promise<ComplianceReport> {
    const { store, identity, config } = this.options
    const now = this.options.clock()
    const since = query.since ?? now - config.failedLoginWindowHours * HOUR_MS
    const failedLogins = new FailedLoginTally(since, now + 1)
    const audit = await scanAuditLog(store.audit, (message, signature) => identity.verify(message, signature), (entry) => failedLogins.add(entry))
    const [users, devices, releases, trusted, addedKeys, reports] = await Promise.all([
      store.users.list(),
      this.#allDevices(),
      this.#allReleases(),
      this.options.trustedKeys.all(),
      store.releaseKeys.list(),
      store.config.reportsWithErrors(),
    ])
    const byId = new Map(devices.map((d) => [d.id as string, d] as const))
    const controls: ComplianceControls = {
      adminMfa: adminMfaControl(users),
      transportTls: transportControl(this.options.transport()),
      auditChain: auditChainControl(audit),
      keyAge: keyAgeControl(datedKeys({ hubId: identity.hubId, hubCreatedAt: this.options.identityCreatedAt, releaseKeys: trusted, addedKeys, devices }), now, config.maxKeyAgeDays),
      deviceSoftware: deviceSoftwareControl({
        devices,
        releases,
        trustedKeyIds: new Set(trusted.map((k) => k.id)),
        completedReleaseIds: await this.#completedRollouts(devices),
        now,
        outdatedAfterDays: config.outdatedAfterDays,
      }),
      refusedConfigKeys: refusedConfigKeysControl(reports.map((r) => ({ ...r, name: byId.get(r.deviceId)?.name ?? r.deviceId }))),
      failedLogins: failedLogins.control(config.maxFailedLoginsPerSource),
    }
    const all = Object.values(controls)
    return {
      formatVersion: COMPLIANCE_REPORT_FORMAT_VERSION,
      hubId: identity.hubId,
      generatedAt: new Date(now).toISOString(),
      period: { since: new Date(since).toISOString(), until: new Date(now).toISOString() },
      status: all.every((c) => c.status === 'pass') ? 'pass' : 'fail',
      summary: all.map((c) => ({ id: c.id, title: c.title, status: statusOf(c.findings), findings: c.findings.length })),
      controls,
    }
  }

  /** Every finding of every control, as the policy evaluator raises alerts for them. */
  async violations(): Promise<PolicyViolation[]> {
    const report = await this.report()
    return Object.values(report.controls).flatMap((c) => c.findings.map((f) => ({ ...f, control: c.id })))
  }

  async #allDevices(): Promise<DeviceRecord[]> {
    const devices: DeviceRecord[] = []
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.options.store.devices.list({ status: 'active', limit: PAGE, offset })
      devices.push(...page)
      if (page.length < PAGE) return devices
    }
  }

  async #allReleases(): Promise<ReleaseRecord[]> {
    const releases: ReleaseRecord[] = []
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.options.store.releases.list({ limit: PAGE, offset })
      releases.push(...page)
      if (page.length < PAGE) return releases
    }
  }

  /** Per device, the release of its latest rollout when that rollout completed with the device in it. */
  async #completedRollouts(devices: readonly DeviceRecord[]): Promise<Map<string, Set<string>>> {
    const completed = new Map<string, Set<string>>()
    for (const device of devices) {
      const latest = await this.options.store.rollouts.latestForDevice(device.id)
      if (latest?.rollout.state === 'completed') completed.set(device.id, new Set([latest.rollout.releaseId]))
    }
    return completed
  }
}
