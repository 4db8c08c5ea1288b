import { Type } from '@sinclair/typebox'
import { fleetStatusOf, type DeviceRecord, type HealthSample } from './device-repository.js'
import { Nullable, TierSchema } from '../http/schemas.js'

/** Device schemas and their JSON views, shared by the device and fleet routes. */

export const Facts = Type.Object(
  {
    cpuCount: Type.Integer({ minimum: 0, maximum: 4096 }),
    memoryBytes: Type.Integer({ minimum: 0 }),
    freeDiskBytes: Type.Integer({ minimum: 0 }),
    arch: Type.String({ minLength: 1, maxLength: 32, description: 'process.arch, e.g. arm64' }),
    os: Type.String({ minLength: 1, maxLength: 128, description: 'e.g. linux 6.1.0-rpi' }),
    runtimeVersion: Type.String({ minLength: 1, maxLength: 32, description: 'process.version, e.g. v20.20.2' }),
  },
  { additionalProperties: false },
)

const Count = (description: string) => Type.Number({ minimum: 0, description })

/** The heartbeat body (POST /v1/devices/me/heartbeat): unknown keys are refused. */
export const HeartbeatBody = Type.Object(
  {
    uptimeSeconds: Count('Seconds since the edge process started'),
    queueDepth: Count('Items waiting in the outbox for the hub'),
    dbSizeBytes: Count('Size of the edge database'),
    readingsPerSecond: Count('Readings accepted per second, recent average'),
    rejectedPerSecond: Count('Readings rejected per second, recent average'),
    cpuPercent: Type.Number({ minimum: 0, maximum: 100_000, description: 'CPU use of the edge process (100 = one core)' }),
    memoryBytes: Count('Resident memory of the edge process'),
    versions: Type.Optional(
      Type.Object(
        { runtime: Type.String({ minLength: 1, maxLength: 64, description: 'e.g. v20.20.2' }) },
        { additionalProperties: Type.String({ maxLength: 64 }), maxProperties: 16, description: 'runtime, and any other component versions (string values)' },
      ),
    ),
  },
  { additionalProperties: false },
)

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
  facts: Facts,
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
