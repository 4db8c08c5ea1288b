import type { DeviceId, Tier } from './device-repository.js'

export interface EnrolmentTokenRecord {
  id: string
  /** sha256 (hex) of the token: the token itself is shown once and never stored. */
  tokenHash: string
  group: string
  tier: Tier
  createdBy: string
  createdAt: number
  expiresAt: number
  usedAt: number | null
  deviceId: DeviceId | null
}

export interface EnrolmentTokenRepository {
  create(token: EnrolmentTokenRecord): Promise<void>
  findByHash(tokenHash: string): Promise<EnrolmentTokenRecord | undefined>
  /** Newest first. */
  list(): Promise<EnrolmentTokenRecord[]>
}
