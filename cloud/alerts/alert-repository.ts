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
  /** Stores the alerts not stored yet (by device and seq), in one transaction. */
  ingest(deviceId: DeviceId, alerts: readonly AlertInput[], receivedAt: number): Promise<{ accepted: number; duplicates: number; lastSeq: number }>
  /** Newest first (raisedAt, then id). */
  list(filter: AlertFilter): Promise<AlertRecord[]>
  findById(id: number): Promise<AlertRecord | undefined>
  /** false when already acknowledged (the first acknowledgement stands). */
  acknowledge(id: number, by: string, at: number): Promise<boolean>
}
