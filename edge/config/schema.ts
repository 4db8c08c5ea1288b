import { Type, type Static } from '@sinclair/typebox'

/**
 * The edge runtime's configuration: one TypeBox schema gives the type, the
 * defaults and the validation. The config file (`--config FILE`, JSON) holds
 * any subset of it; CLI flags override the file. Later issues add rules,
 * models, sync and OTA settings here.
 *
 * `x-apply` on a section or a key says whether a change from the config
 * documents (shared/config-crdt) takes effect at once ('live') or at the next
 * start ('restart'); the nearest annotation on a key's path wins, and
 * shared/config-crdt/apply-modes.ts covers sections without one.
 */

const port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description })

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

export const MqttConfigSchema = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Interface the embedded broker listens on.' }),
    port: port(1883, 'TCP port of the embedded broker (0 picks a free port).'),
    brokerUrl: Type.Optional(
      Type.String({ pattern: '^mqtts?://', description: 'Use this external broker (e.g. Mosquitto) instead of the embedded one.' }),
    ),
    clientId: Type.String({ default: 'cloudos-edge', minLength: 1, maxLength: 64, description: 'Client id used with an external broker (persistent session).' }),
  },
  { additionalProperties: false, default: {}, 'x-apply': 'restart' },
)

export const HttpConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Interface of the local HTTP API.' }),
    port: port(8081, 'TCP port of the local HTTP API (0 picks a free port).'),
  },
  { additionalProperties: false, default: {}, 'x-apply': 'restart' },
)

export const IngestConfigSchema = Type.Object(
  {
    maxPayloadBytes: Type.Integer({ minimum: 64, maximum: 16 * 1024 * 1024, default: 64 * 1024, description: 'Largest accepted telemetry payload.' }),
    maxReadingsPerMessage: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Largest accepted batch.' }),
    maxFutureSkewMs: Type.Integer({ minimum: 0, default: 60 * MINUTE, description: 'Readings stamped further ahead of the edge clock are rejected.' }),
    maxPastAgeMs: Type.Integer({ minimum: 0, default: 90 * DAY, description: 'Readings older than this are rejected.' }),
  },
  { additionalProperties: false, default: {}, 'x-apply': 'live' },
)

export const StorageConfigSchema = Type.Object(
  {
    commitIntervalMs: Type.Integer({ minimum: 0, maximum: 1000, default: 5, description: 'Group commit: least time between two commits.' }),
    maxBatchReadings: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50_000, description: 'Group commit: commit at once when this many readings wait.' }),
    queueHighWaterMark: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000, description: 'Readings waiting above which publishers are slowed down (backpressure).' }),
    synchronous: Type.Union([Type.Literal('normal'), Type.Literal('full')], {
      default: 'normal',
      description: '"normal": committed data survives a process crash (kill -9); "full": also a power cut, at the cost of an fsync per commit.',
      'x-apply': 'restart',
    }),
    retentionDays: Type.Number({ minimum: 0, default: 30, description: 'Readings older than this are deleted (0 keeps them forever).' }),
    maxBytes: Type.Integer({ minimum: 1024 * 1024, default: 256 * 1024 * 1024, description: 'Byte budget of the database; oldest readings go first above it.' }),
    retentionSchedule: Type.String({ default: '* * * * *', minLength: 1, description: 'Cron expression (node-cron) for the retention job.' }),
    deadLetterMaxRows: Type.Integer({ minimum: 0, default: 100_000, description: 'Dead letters kept; the oldest are pruned.' }),
  },
  { additionalProperties: false, default: {}, 'x-apply': 'live' },
)

export const HubLinkConfigSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Base URL of the fleet hub (e.g. http://hub.example:8080); unset: the edge runs stand-alone.', 'x-apply': 'restart' }),
    ),
    deviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Name sent at enrolment (the host name when unset).', 'x-apply': 'restart' })),
    heartbeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'Seconds between heartbeats; the hub\'s answer may adjust it.' }),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000, description: 'A hub request that takes longer is abandoned and retried.', 'x-apply': 'restart' }),
    backoffInitialMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'First retry delay after the hub was unreachable or answered 5xx (doubles per failure, with jitter).' }),
    backoffMaxMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000, description: 'Longest retry delay.' }),
    alertBatchSize: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Alerts forwarded per request.' }),
  },
  { additionalProperties: false, default: {}, 'x-apply': 'live' },
)

export const ConfigSyncSchema = Type.Object(
  {
    longPollSeconds: Type.Integer({ minimum: 1, maximum: 30, default: 25, description: 'How long a config sync request waits at the hub for changes (long-poll) before it is renewed.' }),
  },
  { additionalProperties: false, default: {}, 'x-apply': 'live' },
)

export const EdgeConfigSchema = Type.Object(
  {
    mqtt: MqttConfigSchema,
    http: HttpConfigSchema,
    ingest: IngestConfigSchema,
    storage: StorageConfigSchema,
    hub: HubLinkConfigSchema,
    config: ConfigSyncSchema,
  },
  { additionalProperties: false, default: {} },
)

export type EdgeConfig = Static<typeof EdgeConfigSchema>
export type IngestConfig = Static<typeof IngestConfigSchema>
export type StorageConfig = Static<typeof StorageConfigSchema>
export type HubLinkConfig = Static<typeof HubLinkConfigSchema>
export type ConfigSyncConfig = Static<typeof ConfigSyncSchema>
