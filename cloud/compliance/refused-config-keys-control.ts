import type { ConfigReport } from '../../shared/protocol/config-sync.js'
import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

/** The code an edge reports for a config document that sets a key only its own file may set (shared/errors.ts). */
export const REFUSED_KEY_CODE = 'CONFIG_ERR_DEVICE_LOCAL_KEY'

export interface StoredConfigReport {
  deviceId: string
  /** The device's name, when the device is still known. */
  name: string
  report: ConfigReport
  reportedAt: number
}

/**
 * Refused config keys: devices whose latest config report (the device twin,
 * shared/protocol/config-sync.ts) lists errors with code
 * CONFIG_ERR_DEVICE_LOCAL_KEY, i.e. someone tried to set from the hub a key
 * that grants trust or runs code and the device refused it. Each such device
 * is a finding until its next report no longer carries the error (the hub
 * document was fixed).
 */
export function refusedConfigKeysControl(reports: readonly StoredConfigReport[]): ComplianceControls['refusedConfigKeys'] {
  const devices = reports
    .map((r) => ({
      deviceId: r.deviceId,
      name: r.name,
      reportedAt: new Date(r.reportedAt).toISOString(),
      refused: r.report.errors.filter((e) => e.code === REFUSED_KEY_CODE).map((e) => ({ key: e.key, code: e.code, reason: e.reason })),
    }))
    .filter((d) => d.refused.length > 0)
  const findings: Finding[] = devices.map((d) => ({
    subject: `device:${d.deviceId}`,
    severity: 'warning',
    message: `device ${d.name} (${d.deviceId}) refused device-local config keys from the hub: ${d.refused.map((k) => k.key).join(', ')}`,
  }))
  return {
    id: 'refused-config-keys',
    title: 'Refused config keys',
    status: statusOf(findings),
    summary: devices.length === 0 ? 'no device refused a device-local key' : `${devices.length} device(s) refused ${devices.reduce((n, d) => n + d.refused.length, 0)} device-local key(s) set from the hub`,
    findings,
    devices,
  }
}
