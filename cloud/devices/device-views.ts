import { Type } from '@sinclair/typebox'
import { fleetStatusOf, type DeviceRecord, type HealthSample } from './device-repository.js'
import { Nullable, TierSchema } from '../http/schemas.js'
import { DeviceFacts } from '../../shared/protocol/enrolment.js'
import { HeartbeatBody } from '../../shared/protocol/heartbeat.js'

/** Device schemas and their JSON views, shared by the device and fleet routes. */

export const HealthView = Type.Object({ at: Type.String({ format: 'date-time' }), ...HeartbeatBody.properties })

export const FleetStatusSchema = Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('revoked'), Type.Literal('never-seen')], {
  description: 'revoked, else the heartbeat liveness: never-seen before the first heartbeat, online, offline after missed heartbeats',
})

export const Device = Type.Object({
  id: Type.String(),
  name: Type.String(),
  group: Type.String(),
  tier: TierSchema,
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')], { description: 'Enrolment status' }),
  fleetStatus: FleetStatusSchema,
  labels: Type.Record(Type.String(), Type.String()),
  facts: DeviceFacts,
  publicKey: Type.String(),
  enrolledAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Nullable(Type.String({ format: 'date-time', description: 'Last authenticated request of any kind' })),
  lastHeartbeatAt: Nullable(Type.String({ format: 'date-time' })),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
  health: Nullable(Type.Object(HealthView.properties, { description: 'Health from the latest heartbeat' })),
})

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export const healthView = (sample: HealthSample) => ({ at: new Date(sample.at).toISOString(), ...sample.health })

export const publicDevice = (d: DeviceRecord) => ({
  id: d.id,
  name: d.name,
  group: d.group,
  tier: d.tier,
  status: d.status,
  fleetStatus: fleetStatusOf(d),
  labels: d.labels,
  facts: d.facts,
  publicKey: d.publicKey,
  enrolledAt: new Date(d.enrolledAt).toISOString(),
  lastSeenAt: iso(d.lastSeenAt),
  lastHeartbeatAt: iso(d.lastHeartbeatAt),
  revokedAt: iso(d.revokedAt),
  health: d.health === null ? null : healthView(d.health),
})
