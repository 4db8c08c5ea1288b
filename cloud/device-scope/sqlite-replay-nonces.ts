import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { ReplayNonceRepository } from './replay-nonce-repository.js'

export class SqliteReplayNonceRepository implements ReplayNonceRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async seen(deviceId: string, nonce: string, now: number): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM replay_nonces WHERE device_id = ? AND nonce = ? AND expires_at >= ?').get(deviceId, nonce, now) !== undefined
  }

  async remember(deviceId: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    // One statement: a new nonce is inserted, an expired one taken over, a live one left alone (0 changes).
    const result = this.db
      .prepare(
        `INSERT INTO replay_nonces (device_id, nonce, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (device_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE replay_nonces.expires_at < ?`,
      )
      .run(deviceId, nonce, expiresAt, now)
    return result.changes === 1
  }

  async prune(now: number): Promise<number> {
    return this.db.prepare('DELETE FROM replay_nonces WHERE expires_at < ?').run(now).changes
  }
}
