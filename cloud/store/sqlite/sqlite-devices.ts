import { CloudosError } from '../../../shared/errors.js'
import type {
  DeviceFacts,
  DeviceId,
  DeviceRecord,
  DeviceRepository,
  DeviceStatus,
  EnrolmentTokenRecord,
  EnrolmentTokenRepository,
  Tier,
} from '../repositories.js'
import type { SqliteDatabase } from './database.js'

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
  constructor(private readonly db: SqliteDatabase) {}

  async enrol(device: DeviceRecord): Promise<'enrolled' | 'token_used'> {
    const run = this.db.transaction((): 'enrolled' | 'token_used' => {
      const claimed = this.db
        .prepare('UPDATE enrolment_tokens SET used_at = ?, device_id = ? WHERE id = ? AND used_at IS NULL')
        .run(device.enrolledAt, device.id, device.enrolmentTokenId)
      if (claimed.changes !== 1) return 'token_used'
      try {
        this.db
          .prepare(
            `INSERT INTO devices (id, name, group_name, tier, public_key, facts, status, enrolment_token_id, enrolled_at, last_seen_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(device.id, device.name, device.group, device.tier, device.publicKey, JSON.stringify(device.facts), device.status, device.enrolmentTokenId, device.enrolledAt, device.lastSeenAt, device.revokedAt)
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          // Rolls the token claim back with the transaction: the token stays usable.
          throw new CloudosError('HUB_ERR_CONFLICT', 'a device with this public key is already enrolled; generate a new key pair for a new enrolment')
        }
        throw err
      }
      return 'enrolled'
    })
    return run.immediate()
  }

  async findById(id: DeviceId): Promise<DeviceRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined
    return row && toDevice(row)
  }

  async list(filter: { group?: string; status?: DeviceStatus; limit: number }): Promise<DeviceRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM devices WHERE (@group IS NULL OR group_name = @group) AND (@status IS NULL OR status = @status) ORDER BY enrolled_at, id LIMIT @limit')
      .all({ group: filter.group ?? null, status: filter.status ?? null, limit: filter.limit }) as DeviceRow[]
    return rows.map(toDevice)
  }

  async revoke(id: DeviceId, at: number): Promise<boolean> {
    return this.db.prepare("UPDATE devices SET status = 'revoked', revoked_at = ? WHERE id = ? AND status = 'active'").run(at, id).changes === 1
  }

  async touch(id: DeviceId, at: number): Promise<void> {
    this.db.prepare('UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?').run(at, id)
  }
}
