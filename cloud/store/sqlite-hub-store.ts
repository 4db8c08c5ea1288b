import { CloudosError } from '../../shared/errors.js'
import type {
  AlertRepository,
  AuditEntry,
  AuditRepository,
  ConfigRepository,
  DeviceRepository,
  EnrolmentTokenRepository,
  FleetRepository,
  HubStore,
  NewUser,
  ReleaseKeyRepository,
  ReleaseRepository,
  RolloutRepository,
  Role,
  SessionRecord,
  SessionRepository,
  SignedAuditHead,
  TelemetryRepository,
  UserId,
  UserRecord,
  UserRepository,
} from './hub-store.js'
import { openHubDatabase } from './sqlite-database.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { SqliteAlertRepository } from '../alerts/sqlite-alerts.js'
import { SqliteDeviceRepository, SqliteEnrolmentTokenRepository } from '../devices/sqlite-devices.js'
import { SqliteConfigRepository } from '../config/sqlite-config.js'
import { SqliteFleetRepository } from '../fleet/sqlite-fleet.js'
import { SqliteTelemetryRepository } from '../telemetry/sqlite-telemetry.js'
import { SqliteReleaseKeyRepository, SqliteReleaseRepository } from '../ota/sqlite-releases.js'
import { SqliteRolloutRepository } from '../ota/sqlite-rollouts.js'

interface UserRow {
  id: string
  username: string
  role: string
  password_hash: string
  totp_secret: string
  totp_last_step: number | null
  created_at: number
}

interface AuditRow {
  seq: number
  ts: number
  actor: string
  action: string
  target: string
  details: string
  prev_hash: string
  hash: string
}

const toUser = (row: UserRow): UserRecord => ({
  id: row.id as UserId,
  username: row.username,
  role: row.role as Role,
  passwordHash: row.password_hash,
  totpSecret: row.totp_secret,
  totpLastStep: row.totp_last_step,
  createdAt: row.created_at,
})

const toAuditEntry = (row: AuditRow): AuditEntry => ({
  seq: row.seq,
  ts: row.ts,
  actor: row.actor,
  action: row.action,
  target: row.target,
  details: JSON.parse(row.details) as Record<string, unknown>,
  prevHash: row.prev_hash,
  hash: row.hash,
})

class SqliteUserRepository implements UserRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async create(user: NewUser): Promise<UserRecord> {
    try {
      this.db
        .prepare('INSERT INTO users (id, username, role, password_hash, totp_secret, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(user.id, user.username, user.role, user.passwordHash, user.totpSecret, user.createdAt)
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new CloudosError('HUB_ERR_CONFLICT', `a user named "${user.username}" already exists`, { username: user.username })
      }
      throw err
    }
    return { ...user, totpLastStep: null }
  }

  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined
    return row && toUser(row)
  }

  async findById(id: UserId): Promise<UserRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined
    return row && toUser(row)
  }

  async list(): Promise<UserRecord[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY created_at, username').all() as UserRow[]).map(toUser)
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n
  }

  async claimTotpStep(id: UserId, step: number): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)')
      .run(step, id, step)
    return result.changes === 1
  }
}

class SqliteSessionRepository implements SessionRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async create(session: SessionRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(session.tokenHash, session.userId, session.createdAt, session.expiresAt)
  }

  async findValid(tokenHash: string, now: number): Promise<SessionRecord | undefined> {
    const row = this.db
      .prepare('SELECT token_hash, user_id, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?')
      .get(tokenHash, now) as { token_hash: string; user_id: string; created_at: number; expires_at: number } | undefined
    return row && { tokenHash: row.token_hash, userId: row.user_id as UserId, createdAt: row.created_at, expiresAt: row.expires_at }
  }

  async deleteExpired(now: number): Promise<number> {
    return this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes
  }
}

class SqliteAuditRepository implements AuditRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async append(seal: (previous: AuditEntry | undefined) => { entry: AuditEntry; head: SignedAuditHead }): Promise<AuditEntry> {
    // IMMEDIATE takes the write lock before reading the last entry, so two
    // writers (two hub processes on one file) cannot both extend the same head.
    const run = this.db.transaction(() => {
      const last = this.db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1').get() as AuditRow | undefined
      const { entry, head } = seal(last && toAuditEntry(last))
      this.db
        .prepare('INSERT INTO audit_log (seq, ts, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(entry.seq, entry.ts, entry.actor, entry.action, entry.target, JSON.stringify(entry.details), entry.prevHash, entry.hash)
      this.db
        .prepare('INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature')
        .run(head.seq, head.hash, head.signature)
      return entry
    })
    return run.immediate()
  }

  async list(options: { afterSeq?: number; limit: number; order?: 'asc' | 'desc' }): Promise<AuditEntry[]> {
    const order = options.order === 'desc' ? 'DESC' : 'ASC'
    const rows = this.db
      .prepare(`SELECT * FROM audit_log WHERE seq > ? ORDER BY seq ${order} LIMIT ?`)
      .all(options.afterSeq ?? 0, options.limit) as AuditRow[]
    return rows.map(toAuditEntry)
  }

  async all(): Promise<AuditEntry[]> {
    return (this.db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as AuditRow[]).map(toAuditEntry)
  }

  async head(): Promise<SignedAuditHead | undefined> {
    const row = this.db.prepare('SELECT seq, hash, signature FROM audit_head WHERE id = 1').get() as SignedAuditHead | undefined
    return row && { seq: row.seq, hash: row.hash, signature: row.signature }
  }
}

/** The embedded backend: one SQLite file (`hub.db`) in the data dir. */
export class SqliteHubStore implements HubStore {
  readonly users: UserRepository
  readonly sessions: SessionRepository
  readonly audit: AuditRepository
  readonly enrolmentTokens: EnrolmentTokenRepository
  readonly devices: DeviceRepository
  readonly fleet: FleetRepository
  readonly alerts: AlertRepository
  readonly telemetry: TelemetryRepository
  readonly releaseKeys: ReleaseKeyRepository
  readonly releases: ReleaseRepository
  readonly rollouts: RolloutRepository
  readonly config: ConfigRepository

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
    this.telemetry = new SqliteTelemetryRepository(db)
    this.releaseKeys = new SqliteReleaseKeyRepository(db)
    this.releases = new SqliteReleaseRepository(db)
    this.rollouts = new SqliteRolloutRepository(db, fleetDb)
    this.config = new SqliteConfigRepository(db)
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
