import type { AlertReport, AlertSeverity } from '../../shared/protocol/alerts.js'
import type { DeviceId } from '../devices/device-repository.js'

/** An alert as the edge sends it. */
export type AlertInput = AlertReport

export interface AlertRecord extends AlertInput {
  id: number
  deviceId: DeviceId
  receivedAt: number
  acknowledgedAt: number | null
  acknowledgedBy: string | null
}

export interface AlertFilter {
  deviceId?: DeviceId
  severity?: AlertSeverity
  acknowledged?: boolean
  from?: number
  to?: number
  limit: number
}

export interface AlertRepository {
  /**
   * Stores the alerts not held yet, in one transaction: an alert whose
   * `contentSha256` the device already sent (any epoch) is a duplicate, and so
   * is a repeat of (device, epoch, seq) with the same content (or a row from
   * before content hashes). The same key with other content throws
   * HUB_ERR_STREAM_CONFLICT and stores nothing. `epoch` defaults to '0';
   * `newEpoch` is set on the device's first alerts in an epoch while it had another.
   */
  ingest(deviceId: DeviceId, alerts: readonly AlertInput[], receivedAt: number, epoch?: string): Promise<{ accepted: number; duplicates: number; lastSeq: number; newEpoch?: true }>
  /** Newest first (raisedAt, then id). */
  list(filter: AlertFilter): Promise<AlertRecord[]>
  findById(id: number): Promise<AlertRecord | undefined>
  /** false when already acknowledged (the first acknowledgement stands). */
  acknowledge(id: number, by: string, at: number): Promise<boolean>
}
