import { REJECT_REASONS, type RejectReason } from '../../shared/telemetry.js'

/**
 * Counters of the ingest path since the process started. Plain numbers on the
 * hot path; prom-client reads them at scrape time (see edge/api/metrics.ts).
 */
export class IngestStats {
  messagesReceived = 0
  readingsReceived = 0
  readingsStored = 0
  readingsRejected = 0
  commits = 0
  commitFailures = 0
  readonly rejectedByReason: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<
    RejectReason,
    number
  >
}
