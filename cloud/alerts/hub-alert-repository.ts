import type { AlertSeverity } from '../../shared/protocol/alerts.js'

/** Where a hub-side alert comes from: today only the compliance policy evaluator. */
export const HUB_ALERT_SOURCES = ['policy'] as const
export type HubAlertSource = (typeof HUB_ALERT_SOURCES)[number]

/** One condition the hub wants an alert open for, identified by (kind, subject). */
export interface HubAlertCondition {
  /** What kind of condition: for policy alerts, the control id (`admin-mfa`, `audit-chain`, ...). */
  kind: string
  /** What it is about: an account, a device, a key (`user:alice`, `device:<id>`, `release-key:<id>`). */
  subject: string
  severity: AlertSeverity
  message: string
}

/** An alert raised by the hub itself (not forwarded by a device). */
export interface HubAlertRecord extends HubAlertCondition {
  id: number
  source: HubAlertSource
  raisedAt: number
  /** When the condition was found resolved; null while it holds. */
  clearedAt: number | null
}

export interface HubAlertFilter {
  source?: HubAlertSource
  /** true: only alerts still open; false: only cleared ones. */
  open?: boolean
  limit: number
}

export interface HubAlertRepository {
  /**
   * Makes the open alerts of `source` match `conditions`, in one transaction:
   * a condition without an open alert raises one, an open alert whose
   * condition is gone is cleared, and an open alert whose condition still
   * holds is left alone (raised once per violation, not once per evaluation).
   */
  reconcile(source: HubAlertSource, conditions: readonly HubAlertCondition[], now: number): Promise<{ raised: HubAlertRecord[]; cleared: HubAlertRecord[] }>
  /** Newest first (raisedAt, then id). */
  list(filter: HubAlertFilter): Promise<HubAlertRecord[]>
}
