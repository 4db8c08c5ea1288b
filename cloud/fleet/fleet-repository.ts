import type { DeviceHealth, DeviceId, FleetStatus, HealthSample, Liveness } from '../devices/device-repository.js'

export type FleetEventKind = 'device.enrolled' | 'device.online' | 'device.offline' | 'device.revoked'

export interface FleetEvent {
  id: number
  at: number
  kind: FleetEventKind
  deviceId: DeviceId
  details: Record<string, unknown>
}

export interface StatusTransition {
  deviceId: DeviceId
  at: number
  from: FleetStatus
  to: FleetStatus
  reason: string
}

export interface HeartbeatInput {
  deviceId: DeviceId
  at: number
  health: DeviceHealth
}

export interface HeartbeatOutcome {
  deviceId: DeviceId
  /** The liveness before this heartbeat: 'offline' or 'never-seen' means it just came online. */
  previous: Liveness
  revoked: boolean
}

export interface GroupSummary {
  group: string
  total: number
  counts: Record<FleetStatus, number>
}

export interface FleetRepository {
  /**
   * Records heartbeats in one transaction (group commit): each updates last
   * seen and latest health, fills the next slot of the device's health ring
   * (`historyLength` slots), and a device that was not online becomes online,
   * with a status transition and a `device.online` event. Revoked devices
   * are left untouched (outcome.revoked).
   */
  recordHeartbeats(heartbeats: readonly HeartbeatInput[], historyLength: number): Promise<HeartbeatOutcome[]>
  /** Marks offline every online device whose last heartbeat is before `cutoff` (with transition and `device.offline` event); returns them. */
  markOffline(cutoff: number, now: number): Promise<StatusTransition[]>
  healthHistory(deviceId: DeviceId, limit: number): Promise<HealthSample[]>
  transitions(deviceId: DeviceId, limit: number): Promise<StatusTransition[]>
  events(filter: { deviceId?: DeviceId; kind?: FleetEventKind; afterId?: number; limit: number }): Promise<FleetEvent[]>
  groups(): Promise<GroupSummary[]>
}
