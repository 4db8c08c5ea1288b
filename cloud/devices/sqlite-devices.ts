import type Database from 'better-sqlite3'
import { CloudosError } from '../../shared/errors.js'
import type { DeviceHealth, DeviceId, DeviceListFilter, DeviceRecord, DeviceRepository, DeviceStatus, Liveness, NewDevice, Tier } from './device-repository.js'
import type { EnrolmentTokenRecord, EnrolmentTokenRepository } from './enrolment-token-repository.js'
import type { DeviceFacts } from '../../shared/protocol/enrolment.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { insertFleetEvent, insertTransition } from '../fleet/sqlite-fleet.js'

interface TokenRow {
  id: string
  token_hash: string
  group_name: string
  tier: string
  created_by: string
  created_at: number
  expires_at: number
  used_at: number | null
  device_id: string | null
}

interface DeviceRow {
  id: string
  name: string
  group_name: string
  tier: string
  public_key: string
  facts: string
  status: string
  enrolment_token_id: string
  enrolled_at: number
  last_seen_at: number | null
  revoked_at: number | null
  liveness: string
  last_heartbeat_at: number | null
  health: string | null
  labels: string
}

const toToken = (row: TokenRow): EnrolmentTokenRecord => ({
  id: row.id,
  tokenHash: row.token_hash,
  group: row.group_name,
  tier: row.tier as Tier,
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
  deviceId: row.device_id as DeviceId | null,
})

const toDevice = (row: DeviceRow): DeviceRecord => ({
  id: row.id as DeviceId,
  name: row.name,
  group: row.group_name,
  tier: row.tier as Tier,
  publicKey: row.public_key,
  facts: JSON.parse(row.facts) as DeviceFacts,
  status: row.status as DeviceStatus,
  enrolmentTokenId: row.enrolment_token_id,
  enrolledAt: row.enrolled_at,
  lastSeenAt: row.last_seen_at,
  revokedAt: row.revoked_at,
  labels: JSON.parse(row.labels) as Record<string, string>,
  liveness: row.liveness as Liveness,
  lastHeartbeatAt: row.last_heartbeat_at,
  health: row.health === null || row.last_heartbeat_at === null ? null : { at: row.last_heartbeat_at, health: JSON.parse(row.health) as DeviceHealth },
})

export class SqliteEnrolmentTokenRepository implements EnrolmentTokenRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async create(token: EnrolmentTokenRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO enrolment_tokens (id, token_hash, group_name, tier, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(token.id, token.tokenHash, token.group, token.tier, token.createdBy, token.createdAt, token.expiresAt)
  }

  async findByHash(tokenHash: string): Promise<EnrolmentTokenRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM enrolment_tokens WHERE token_hash = ?').get(tokenHash) as TokenRow | undefined
    return row && toToken(row)
  }

  async list(): Promise<EnrolmentTokenRecord[]> {
    return (this.db.prepare('SELECT * FROM enrolment_tokens ORDER BY created_at DESC, id').all() as TokenRow[]).map(toToken)
  }
}

export class SqliteDeviceRepository implements DeviceRepository {
  // Prepared once: the signed-request path looks a device up on every call.
  private readonly statements
  /** One prepared statement per filter combination (at most 2^4 x 2 of them). */
  private readonly listStatements = new Map<string, Database.Statement>()

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      findById: db.prepare('SELECT * FROM devices WHERE id = ?'),
      touch: db.prepare('UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?'),
    }
  }

  async enrol(device: NewDevice): Promise<'enrolled' | 'token_used'> {
    const run = this.db.transaction((): 'enrolled' | 'token_used' => {
      const claimed = this.db
        .prepare('UPDATE enrolment_tokens SET used_at = ?, device_id = ? WHERE id = ? AND used_at IS NULL')
        .run(device.enrolledAt, device.id, device.enrolmentTokenId)
      if (claimed.changes !== 1) return 'token_used'
      try {
        this.db
          .prepare(
            `INSERT INTO devices (id, name, group_name, tier, public_key, facts, status, enrolment_token_id, enrolled_at, last_seen_at, revoked_at, labels)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(device.id, device.name, device.group, device.tier, device.publicKey, JSON.stringify(device.facts), device.status, device.enrolmentTokenId, device.enrolledAt, device.lastSeenAt, device.revokedAt, JSON.stringify(device.labels ?? {}))
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          // Rolls the token claim back with the transaction: the token stays usable.
          throw new CloudosError('HUB_ERR_CONFLICT', 'a device with this public key is already enrolled; generate a new key pair for a new enrolment')
        }
        throw err
      }
      insertFleetEvent(this.db, { at: device.enrolledAt, kind: 'device.enrolled', deviceId: device.id, details: { group: device.group, tier: device.tier, name: device.name } })
      return 'enrolled'
    })
    return run.immediate()
  }

  async findById(id: DeviceId): Promise<DeviceRecord | undefined> {
    const row = this.statements.findById.get(id) as DeviceRow | undefined
    return row && toDevice(row)
  }

  async list(filter: DeviceListFilter): Promise<DeviceRecord[]> {
    const where: string[] = []
    const params: Record<string, unknown> = { limit: filter.limit, offset: filter.offset ?? 0 }
    if (filter.group !== undefined) {
      where.push('group_name = @group')
      params.group = filter.group
    }
    if (filter.tier !== undefined) {
      where.push('tier = @tier')
      params.tier = filter.tier
    }
    switch (filter.status) {
      case undefined:
        break
      case 'active':
      case 'revoked':
        where.push('status = @status')
        params.status = filter.status
        break
      default:
        where.push("status = 'active' AND liveness = @liveness")
        params.liveness = filter.status
    }
    if (filter.label !== undefined) {
      // json_each keeps any label key safe (no JSON path quoting).
      where.push(filter.label.value === undefined
        ? 'EXISTS (SELECT 1 FROM json_each(devices.labels) WHERE key = @labelKey)'
        : 'EXISTS (SELECT 1 FROM json_each(devices.labels) WHERE key = @labelKey AND value = @labelValue)')
      params.labelKey = filter.label.key
      if (filter.label.value !== undefined) params.labelValue = filter.label.value
    }
    const sql = `SELECT * FROM devices ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY enrolled_at, id LIMIT @limit OFFSET @offset`
    let statement = this.listStatements.get(sql)
    if (statement === undefined) {
      statement = this.db.prepare(sql)
      this.listStatements.set(sql, statement)
    }
    return (statement.all(params) as DeviceRow[]).map(toDevice)
  }

  async revoke(id: DeviceId, at: number): Promise<boolean> {
    const run = this.db.transaction(() => {
      const row = this.db.prepare("SELECT liveness, group_name FROM devices WHERE id = ? AND status = 'active'").get(id) as { liveness: string; group_name: string } | undefined
      if (row === undefined) return false
      this.db.prepare("UPDATE devices SET status = 'revoked', revoked_at = ? WHERE id = ?").run(at, id)
      insertTransition(this.db, { deviceId: id, at, from: row.liveness as Liveness, to: 'revoked', reason: 'revoked by an admin' })
      insertFleetEvent(this.db, { at, kind: 'device.revoked', deviceId: id, details: { group: row.group_name } })
      return true
    })
    return run.immediate()
  }

  async touch(id: DeviceId, at: number): Promise<void> {
    this.statements.touch.run(at, id)
  }

  async setLabels(id: DeviceId, labels: Record<string, string>): Promise<boolean> {
    return this.db.prepare('UPDATE devices SET labels = ? WHERE id = ?').run(JSON.stringify(labels), id).changes === 1
  }

}
