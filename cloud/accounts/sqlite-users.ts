import { CloudosError } from '../../shared/errors.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { NewUser, Role, UserId, UserRecord, UserRepository } from './user-repository.js'

interface UserRow {
  id: string
  username: string
  role: string
  password_hash: string
  totp_secret: string
  totp_last_step: number | null
  created_at: number
  disabled_at: number | null
}

const toUser = (row: UserRow): UserRecord => ({
  id: row.id as UserId,
  username: row.username,
  role: row.role as Role,
  passwordHash: row.password_hash,
  totpSecret: row.totp_secret,
  totpLastStep: row.totp_last_step,
  createdAt: row.created_at,
  disabledAt: row.disabled_at,
})

export class SqliteUserRepository implements UserRepository {
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
    return { ...user, totpLastStep: null, disabledAt: null }
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

  async setDisabled(id: UserId, at: number | null): Promise<boolean> {
    return this.db.prepare('UPDATE users SET disabled_at = ? WHERE id = ?').run(at, id).changes === 1
  }

  async delete(id: UserId): Promise<boolean> {
    const run = this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(id)
      return this.db.prepare('DELETE FROM users WHERE id = ?').run(id).changes === 1
    })
    return run.immediate()
  }
}
