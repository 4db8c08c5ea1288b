/**
 * What the edge sends the hub, defined once for both sides: the facts a
 * device reports at enrolment, the health in each heartbeat, and the alerts it
 * forwards. The hub validates the same shapes with TypeBox schemas
 * (cloud/schemas.ts, cloud/routes/*); docs/hub.md documents the routes.
 */

/** What a device reports about itself at enrolment (POST /v1/devices/enroll). */
export interface DeviceFacts {
  cpuCount: number
  memoryBytes: number
  /** Free space, for an unprivileged process, of the file system holding the data dir. */
  freeDiskBytes: number
  arch: string
  os: string
  /** Node.js version, e.g. v20.20.2. */
  runtimeVersion: string
}

/** The health in each heartbeat (POST /v1/devices/me/heartbeat). */
export interface HeartbeatHealth {
  uptimeSeconds: number
  /** Readings decoded and waiting for the edge's next commit. */
  queueDepth: number
  dbSizeBytes: number
  readingsPerSecond: number
  rejectedPerSecond: number
  /** Process CPU time over wall time since the last sample, as `top` shows it (100 = one core busy). */
  cpuPercent: number
  /** Resident set size. */
  memoryBytes: number
  /** `runtime` is the CloudOS Lite version; more entries may follow. */
  versions: { runtime: string; [component: string]: string }
}

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number]

/** An alert as the edge forwards it (POST /v1/devices/me/alerts); `seq` is the hub's dedup key. */
export interface AlertReport {
  /** The device's own alert sequence number: increasing, never reused. */
  seq: number
  raisedAt: number
  sensorId: string
  metric: string
  severity: AlertSeverity
  /** Name of the rule (or model) that fired. */
  rule: string
  /** The value that triggered it (null when there is none, e.g. missing data). */
  value: number | null
  message: string
}
