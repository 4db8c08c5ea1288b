import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { SqliteSessionRepository } from '../accounts/sqlite-sessions.js'
import { SqliteUserRepository } from '../accounts/sqlite-users.js'
import type { SessionRepository } from '../accounts/session-repository.js'
import type { UserRepository } from '../accounts/user-repository.js'
import type { AlertRepository } from '../alerts/alert-repository.js'
import { SqliteAlertRepository } from '../alerts/sqlite-alerts.js'
import type { HubAlertRepository } from '../alerts/hub-alert-repository.js'
import { SqliteHubAlertRepository } from '../alerts/sqlite-hub-alerts.js'
import type { AuditRepository } from '../audit/audit-repository.js'
import { SqliteAuditRepository } from '../audit/sqlite-audit.js'
import type { ConfigRepository } from '../config/config-repository.js'
import { SqliteConfigRepository } from '../config/sqlite-config.js'
import type { ReplayNonceRepository } from '../device-scope/replay-nonce-repository.js'
import { SqliteReplayNonceRepository } from '../device-scope/sqlite-replay-nonces.js'
import type { DeviceRepository } from '../devices/device-repository.js'
import type { EnrolmentTokenRepository } from '../devices/enrolment-token-repository.js'
import { SqliteDeviceRepository, SqliteEnrolmentTokenRepository } from '../devices/sqlite-devices.js'
import type { FleetRepository } from '../fleet/fleet-repository.js'
import { SqliteFleetRepository } from '../fleet/sqlite-fleet.js'
import type { ReleaseKeyRepository } from '../ota/release-key-repository.js'
import type { ReleaseRepository } from '../ota/release-repository.js'
import type { RolloutRepository } from '../ota/rollout-repository.js'
import { SqliteReleaseKeyRepository, SqliteReleaseRepository } from '../ota/sqlite-releases.js'
import { SqliteRolloutRepository } from '../ota/sqlite-rollouts.js'
import type { TelemetryRepository } from '../telemetry/telemetry-repository.js'
import { SqliteTelemetryRepository } from '../telemetry/sqlite-telemetry.js'
import type { HubStore } from './hub-store.js'
import { openHubDatabase } from './sqlite-database.js'

/** The embedded backend: one SQLite file (`hub.db`) in the data dir. */
export class SqliteHubStore implements HubStore {
  readonly users: UserRepository
  readonly sessions: SessionRepository
  readonly audit: AuditRepository
  readonly enrolmentTokens: EnrolmentTokenRepository
  readonly devices: DeviceRepository
  readonly fleet: FleetRepository
  readonly alerts: AlertRepository
  readonly hubAlerts: HubAlertRepository
  readonly telemetry: TelemetryRepository
  readonly releaseKeys: ReleaseKeyRepository
  readonly releases: ReleaseRepository
  readonly rollouts: RolloutRepository
  readonly config: ConfigRepository
  readonly replayNonces: ReplayNonceRepository

  /**
   * @param fleetDb a second connection to the same file with
   * synchronous=NORMAL, for heartbeats and liveness changes only: in WAL mode
   * their commits skip the fsync that blocks the event loop (~0.7 ms each,
   * measured here). A power cut can lose the last moments of heartbeat state,
   * which the next heartbeat (10 s) restores; the next FULL commit on `db`
   * (audit, accounts, devices, alerts) makes everything before it durable.
   */
  private constructor(
    readonly db: SqliteDatabase,
    private readonly fleetDb: SqliteDatabase = db,
  ) {
    this.users = new SqliteUserRepository(db)
    this.sessions = new SqliteSessionRepository(db)
    this.audit = new SqliteAuditRepository(db)
    this.enrolmentTokens = new SqliteEnrolmentTokenRepository(db)
    this.devices = new SqliteDeviceRepository(db)
    this.fleet = new SqliteFleetRepository(fleetDb)
    this.alerts = new SqliteAlertRepository(db)
    this.hubAlerts = new SqliteHubAlertRepository(db)
    this.telemetry = new SqliteTelemetryRepository(db)
    this.releaseKeys = new SqliteReleaseKeyRepository(db)
    this.releases = new SqliteReleaseRepository(db)
    this.rollouts = new SqliteRolloutRepository(db, fleetDb)
    this.config = new SqliteConfigRepository(db)
    // On the NORMAL connection: one insert per signed request, and a process
    // restart keeps every committed nonce (only an OS crash or power cut could
    // lose the last moments, as with heartbeats).
    this.replayNonces = new SqliteReplayNonceRepository(fleetDb)
  }

  static open(dataDir: string): SqliteHubStore {
    const db = openHubDatabase(dataDir)
    return new SqliteHubStore(db, openHubDatabase(dataDir, { synchronous: 'NORMAL' }))
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get()
  }

  async close(): Promise<void> {
    if (this.fleetDb !== this.db && this.fleetDb.open) this.fleetDb.close()
    if (this.db.open) this.db.close()
  }
}
