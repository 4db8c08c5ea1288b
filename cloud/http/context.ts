import type { AuditLog } from '../audit/audit-log.js'
import type { AuthFailureSummary } from '../audit/auth-failure-summary.js'
import type { ComplianceService } from '../compliance/compliance-service.js'
import type { HubConfig } from '../hub-config.js'
import type { EnrolmentService } from '../devices/enrolment-service.js'
import type { HubConfigDocuments } from '../config/hub-config-documents.js'
import type { HeartbeatWriter } from '../fleet/heartbeat-writer.js'
import type { FleetLivenessMonitor } from '../fleet/liveness.js'
import type { HubIdentity } from '../identity/hub-identity.js'
import type { HubMetrics } from './metrics.js'
import type { OtaServices } from '../ota/ota-services.js'
import type { HubStore } from '../store/hub-store.js'

/** What the hub's routes depend on: injected once at construction. */
export interface HubContext {
  readonly config: HubConfig
  readonly store: HubStore
  readonly identity: HubIdentity
  readonly audit: AuditLog
  /** Failed authentications, summarised into `auth.failures` audit entries per source per window. */
  readonly authFailures: AuthFailureSummary
  readonly metrics: HubMetrics
  /** Milliseconds since the epoch (injectable: tests move time for tokens and TOTP). */
  readonly clock: () => number
  /** Enrolment tokens and device enrolment (cloud/devices/enrolment-service.ts). */
  readonly enrolment: EnrolmentService
  /** Group-commits heartbeats (cloud/fleet/heartbeat-writer.ts). */
  readonly heartbeats: HeartbeatWriter
  /** Marks silent devices offline; its timer runs while the app is ready. */
  readonly liveness: FleetLivenessMonitor
  /** Releases, trusted keys and the rollout engine. */
  readonly ota: OtaServices
  /** Config documents per group and device (Automerge), their sync with devices and reported state. */
  readonly configDocs: HubConfigDocuments
  /** The compliance report (UC-005) and the violations the policy evaluator alerts on. */
  readonly compliance: ComplianceService
}
