import type { DeviceFacts } from '../../shared/protocol/enrolment.js'
import type { HeartbeatBody } from '../../shared/protocol/heartbeat.js'

export type DeviceId = string & { readonly __deviceId: true }
export type Tier = 'edge' | 'lite'

export type DeviceStatus = 'active' | 'revoked'

/** Heartbeat liveness: 'never-seen' until the first heartbeat. */
export type Liveness = 'never-seen' | 'online' | 'offline'

/** What operators filter and count by: revoked wins over liveness. */
export type FleetStatus = Liveness | 'revoked'

export const fleetStatuses = ['online', 'offline', 'revoked', 'never-seen'] as const satisfies readonly FleetStatus[]

/** What a device reports in each heartbeat; `versions` may be missing in entries stored by older hubs. */
export type DeviceHealth = Omit<HeartbeatBody, 'versions'> & { versions?: Record<string, string> }

/** One heartbeat's health, as kept in the history. */
export interface HealthSample {
  at: number
  health: DeviceHealth
}

/** What enrolment stores; the fleet fields start empty. */
export interface NewDevice {
  id: DeviceId
  name: string
  group: string
  tier: Tier
  /** Ed25519 public key, 32 raw bytes as base64. */
  publicKey: string
  facts: DeviceFacts
  status: DeviceStatus
  enrolmentTokenId: string
  enrolledAt: number
  lastSeenAt: number | null
  revokedAt: number | null
  labels?: Record<string, string>
}

export interface DeviceRecord extends NewDevice {
  labels: Record<string, string>
  liveness: Liveness
  lastHeartbeatAt: number | null
  /** The latest heartbeat's health, null before the first. */
  health: HealthSample | null
}

export const fleetStatusOf = (device: Pick<DeviceRecord, 'status' | 'liveness'>): FleetStatus => (device.status === 'revoked' ? 'revoked' : device.liveness)

export interface DeviceListFilter {
  group?: string
  /** 'active' / 'revoked' (enrolment status) or a fleet status. */
  status?: DeviceStatus | FleetStatus
  tier?: Tier
  /** `key` (label present) or `key=value`. */
  label?: { key: string; value?: string }
  limit: number
  offset?: number
}

export interface DeviceRepository {
  /**
   * Marks the token used, adds the device and raises its `device.enrolled`
   * fleet event, in one transaction; resolves 'token_used' (and adds nothing)
   * when the token was used meanwhile.
   */
  enrol(device: NewDevice): Promise<'enrolled' | 'token_used'>
  findById(id: DeviceId): Promise<DeviceRecord | undefined>
  /** Ordered by enrolment time, then id. */
  list(filter: DeviceListFilter): Promise<DeviceRecord[]>
  /** Revokes and raises `device.revoked` (one transaction); false when there is no such device or it was already revoked. */
  revoke(id: DeviceId, at: number): Promise<boolean>
  touch(id: DeviceId, at: number): Promise<void>
  /** Replaces the device's labels; false when there is no such device. */
  setLabels(id: DeviceId, labels: Record<string, string>): Promise<boolean>
}
