import type { UserId } from './user-repository.js'

export interface SessionRecord {
  /** sha256 (hex) of the bearer token: the token itself is never stored. */
  tokenHash: string
  userId: UserId
  createdAt: number
  expiresAt: number
}

export interface SessionRepository {
  create(session: SessionRecord): Promise<void>
  /** The session for this token hash if it has not expired at `now`. */
  findValid(tokenHash: string, now: number): Promise<SessionRecord | undefined>
  deleteExpired(now: number): Promise<number>
  /** Revokes one token (logout); false when it was not there. */
  delete(tokenHash: string): Promise<boolean>
  /** Revokes every token of a user; returns how many. */
  deleteForUser(userId: UserId): Promise<number>
}
