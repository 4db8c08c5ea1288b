import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { SessionRecord, SessionRepository } from './session-repository.js'
import type { UserId } from './user-repository.js'

export class SqliteSessionRepository implements SessionRepository {
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

  async delete(tokenHash: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash).changes === 1
  }

  async deleteForUser(userId: UserId): Promise<number> {
    return this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(userId).changes
  }
}
