import type { AlertRepository } from '../alerts/alert-repository.js'
import type { HubAlertRepository } from '../alerts/hub-alert-repository.js'
import type { SessionRepository } from '../accounts/session-repository.js'
import type { UserRepository } from '../accounts/user-repository.js'
import type { AuditRepository } from '../audit/audit-repository.js'
import type { ConfigRepository } from '../config/config-repository.js'
import type { ReplayNonceRepository } from '../device-scope/replay-nonce-repository.js'
import type { DeviceRepository } from '../devices/device-repository.js'
import type { EnrolmentTokenRepository } from '../devices/enrolment-token-repository.js'
import type { FleetRepository } from '../fleet/fleet-repository.js'
import type { ReleaseKeyRepository } from '../ota/release-key-repository.js'
import type { ReleaseRepository } from '../ota/release-repository.js'
import type { RolloutRepository } from '../ota/rollout-repository.js'
import type { TelemetryRepository } from '../telemetry/telemetry-repository.js'

/**
 * Everything the hub stores: one repository per domain, each behind its
 * domain's small Promise interface (like automerge-repo's
 * StorageAdapterInterface). Routes and services see only these, so a
 * PostgreSQL backend can be added beside the SQLite one without touching them.
 * Each method is atomic on its own; where several writes must commit together
 * (an audit entry and the signed head) one method does them.
 */
export interface HubStore {
  readonly users: UserRepository
  readonly sessions: SessionRepository
  readonly audit: AuditRepository
  readonly enrolmentTokens: EnrolmentTokenRepository
  readonly devices: DeviceRepository
  readonly fleet: FleetRepository
  readonly alerts: AlertRepository
  /** Alerts the hub raises itself (compliance policy violations). */
  readonly hubAlerts: HubAlertRepository
  readonly telemetry: TelemetryRepository
  readonly releaseKeys: ReleaseKeyRepository
  readonly releases: ReleaseRepository
  readonly rollouts: RolloutRepository
  readonly config: ConfigRepository
  /** Nonces of accepted device requests, until their timestamp window ends (survive a restart). */
  readonly replayNonces: ReplayNonceRepository
  /** Resolves when storage answers (for /readyz). */
  ping(): Promise<void>
  close(): Promise<void>
}
