import { Type, type Static } from '@sinclair/typebox'
import { defineExchange } from './exchange.js'

/** A signed heartbeat: last seen, health, and back online after missed ones. */
export const HEARTBEAT_PATH = '/v1/devices/me/heartbeat'

const Count = (description: string) => Type.Number({ minimum: 0, description })

/**
 * The health in each heartbeat, as edge/hub-link/health-sampler.ts builds it.
 * Unknown keys are refused. `versions` is optional for the hub (an edge
 * before versions were reported still heartbeats); today's edge always sends it.
 */
export const HeartbeatBody = Type.Object(
  {
    uptimeSeconds: Count('Seconds since the edge process started'),
    queueDepth: Count('Readings decoded by the edge\'s ingest and waiting for its next database commit (not the outbox: see the outbox counts on the edge)'),
    dbSizeBytes: Count('Size of the edge database'),
    readingsPerSecond: Count('Readings accepted per second since the previous heartbeat'),
    rejectedPerSecond: Count('Readings rejected per second since the previous heartbeat'),
    cpuPercent: Type.Number({ minimum: 0, maximum: 100_000, description: 'CPU time of the edge process over wall time since the previous heartbeat, as top shows it (100 = one core busy)' }),
    memoryBytes: Count('Resident memory of the edge process'),
    versions: Type.Optional(
      Type.Object(
        { runtime: Type.String({ minLength: 1, maxLength: 64, description: 'The CloudOS Lite version of the edge (its package.json version), e.g. 0.1.0' }) },
        { additionalProperties: Type.String({ maxLength: 64 }), maxProperties: 16, description: 'runtime, and any other component versions (string values)' },
      ),
    ),
  },
  { additionalProperties: false },
)
export type HeartbeatBody = Static<typeof HeartbeatBody>

export const HeartbeatAnswer = Type.Object({
  ok: Type.Literal(true),
  heartbeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, description: 'Send the next heartbeat after this many seconds' }),
})
export type HeartbeatAnswer = Static<typeof HeartbeatAnswer>

export const heartbeatExchange = defineExchange({ name: 'heartbeat', method: 'POST', path: HEARTBEAT_PATH, status: 200, body: HeartbeatBody, answer: HeartbeatAnswer })
