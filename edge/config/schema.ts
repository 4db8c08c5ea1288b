import { Type, type Static } from '@sinclair/typebox'

/**
 * The edge runtime's configuration: one TypeBox schema gives the type, the
 * defaults and the validation. The config file (`--config FILE`, JSON) holds
 * any subset of it; CLI flags override the file. Later issues add rules,
 * models, sync and OTA settings here.
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
  { additionalProperties: false, default: {} },
)

export const HttpConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Interface of the local HTTP API.' }),
    port: port(8081, 'TCP port of the local HTTP API (0 picks a free port).'),
  },
  { additionalProperties: false, default: {} },
)

export const IngestConfigSchema = Type.Object(
  {
    maxPayloadBytes: Type.Integer({ minimum: 64, maximum: 16 * 1024 * 1024, default: 64 * 1024, description: 'Largest accepted telemetry payload.' }),
    maxReadingsPerMessage: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Largest accepted batch.' }),
    maxFutureSkewMs: Type.Integer({ minimum: 0, default: 60 * MINUTE, description: 'Readings stamped further ahead of the edge clock are rejected.' }),
    maxPastAgeMs: Type.Integer({ minimum: 0, default: 90 * DAY, description: 'Readings older than this are rejected.' }),
  },
  { additionalProperties: false, default: {} },
)

export const StorageConfigSchema = Type.Object(
  {
    commitIntervalMs: Type.Integer({ minimum: 0, maximum: 1000, default: 5, description: 'Group commit: least time between two commits.' }),
    maxBatchReadings: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50_000, description: 'Group commit: commit at once when this many readings wait.' }),
    queueHighWaterMark: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000, description: 'Readings waiting above which publishers are slowed down (backpressure).' }),
    synchronous: Type.Union([Type.Literal('normal'), Type.Literal('full')], {
      default: 'normal',
      description: '"normal": committed data survives a process crash (kill -9); "full": also a power cut, at the cost of an fsync per commit.',
    }),
    retentionDays: Type.Number({ minimum: 0, default: 30, description: 'Readings older than this are deleted (0 keeps them forever).' }),
    maxBytes: Type.Integer({ minimum: 1024 * 1024, default: 256 * 1024 * 1024, description: 'Byte budget of the database; oldest readings go first above it.' }),
    retentionSchedule: Type.String({ default: '* * * * *', minLength: 1, description: 'Cron expression (node-cron) for the retention job.' }),
    deadLetterMaxRows: Type.Integer({ minimum: 0, default: 100_000, description: 'Dead letters kept; the oldest are pruned.' }),
  },
  { additionalProperties: false, default: {} },
)

export const HubLinkConfigSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Base URL of the fleet hub (e.g. http://hub.example:8080); unset: the edge runs stand-alone.' }),
    ),
    deviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Name sent at enrolment (the host name when unset).' })),
    heartbeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'Seconds between heartbeats; the hub\'s answer may adjust it.' }),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000, description: 'A hub request that takes longer is abandoned and retried.' }),
    backoffInitialMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'First retry delay after the hub was unreachable or answered 5xx (doubles per failure, with jitter).' }),
    backoffMaxMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000, description: 'Longest retry delay.' }),
    alertBatchSize: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Alerts forwarded per request.' }),
  },
  { additionalProperties: false, default: {} },
)

// --- anomaly (edge inference loop) and rules (local critical decisions): feat/rules ---

export const AnomalyConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Score every reading with the anomaly model (false: no inference; value, rate and missing-data rules still run).' }),
    modelPath: Type.Optional(
      Type.String({ minLength: 1, description: 'Model to load: its card (.card.json) or its .onnx beside a card. Unset: the default model shipped in models/.' }),
    ),
    tickMs: Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'Micro-batching: readings gathered this long go to the model in one run (0: those of one event-loop turn).' }),
    maxBatchReadings: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1024, description: 'Most readings scored in one model run; more waiting are left for the next run, so one run never holds the event loop (and the alerts behind it) for long.' }),
    maxBusyShare: Type.Number({ minimum: 0.05, maximum: 1, default: 0.5, description: 'Largest share of time the model may keep the edge busy: after a run of T ms the next starts at least T*(1-share)/share ms later (readings gather meanwhile), so ingest keeps the rest.' }),
    maxPendingReadings: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 50_000, description: 'Readings waiting for the model above which new ones are skipped (counted, never scored) instead of queued: inference never slows ingest.' }),
    scoreCommitIntervalMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 250, description: 'Scores are written to the database in one transaction this often.' }),
  },
  { additionalProperties: false, default: {} },
)

/** A rule name is a plain key so that `rules.<name>.<field>` works as a dotted config path. */
export const RULE_NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$'
const glob = (description: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:*?-]+$', default: '*', description })
const optionalNumber = (description: string) => Type.Optional(Type.Number({ description }))

export const RuleActionSchema = Type.Object(
  {
    topic: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^#+]+$', description: 'MQTT topic the command is published on (no wildcards).' }),
    payload: Type.String({ maxLength: 65_536, default: '', description: 'Command payload published as is (text, e.g. JSON).' }),
    qos: Type.Union([Type.Literal(0), Type.Literal(1)], { default: 0, description: 'QoS of the command message.' }),
    retain: Type.Boolean({ default: false, description: 'Publish the command as a retained message.' }),
  },
  { additionalProperties: false },
)

export const RuleSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'false: the rule is kept but never fires.' }),
    sensor: glob('Sensor ids the rule applies to: a glob (* any characters, ? one character), e.g. "temp-*".'),
    metric: glob('Metrics the rule applies to: a glob, e.g. "temperature" or "*".'),
    max: optionalNumber('Fires when a value is above this.'),
    clearMax: optionalNumber('Hysteresis: an above-max incident ends when a value is at or below this (<= max; default max).'),
    min: optionalNumber('Fires when a value is below this.'),
    clearMin: optionalNumber('Hysteresis: a below-min incident ends when a value is at or above this (>= min; default min).'),
    rateMax: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Fires when the value changes faster than this many units per second (either way), between two readings of the series.' })),
    clearRateMax: Type.Optional(Type.Number({ minimum: 0, description: 'Hysteresis: a rate incident ends when the rate is at or below this (<= rateMax; default rateMax).' })),
    scoreMin: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Fires when the anomaly score of a reading is at or above this (0..1; needs anomaly.enabled).' })),
    clearScoreMin: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Hysteresis: a score incident ends when a score is below this (<= scoreMin; default scoreMin).' })),
    missingSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 30 * 86_400, description: 'Fires when a matching series has sent no reading for this many seconds; ends with its next reading.' })),
    severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')], { default: 'warning', description: 'Severity of the alert.' }),
    cooldownSeconds: Type.Number({ minimum: 0, maximum: 30 * 86_400, default: 60, description: 'Least time between two alerts of this rule for the same series, even across incidents.' }),
    message: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Text put in front of the alert message (default: the rule name).' })),
    action: Type.Optional(RuleActionSchema),
  },
  // The default lets TypeBox fill each rule's field defaults inside the record.
  { additionalProperties: false, default: {} },
)

export const RulesConfigSchema = Type.Record(Type.String({ pattern: RULE_NAME_PATTERN }), RuleSchema, {
  default: {},
  additionalProperties: false,
  description: 'Local rules keyed by name (an object, not an array, so that each rule and field is its own config path).',
})

export const EdgeConfigSchema = Type.Object(
  {
    mqtt: MqttConfigSchema,
    http: HttpConfigSchema,
    ingest: IngestConfigSchema,
    storage: StorageConfigSchema,
    hub: HubLinkConfigSchema,
    anomaly: AnomalyConfigSchema,
    rules: RulesConfigSchema,
  },
  { additionalProperties: false, default: {} },
)

export type EdgeConfig = Static<typeof EdgeConfigSchema>
export type IngestConfig = Static<typeof IngestConfigSchema>
export type StorageConfig = Static<typeof StorageConfigSchema>
export type HubLinkConfig = Static<typeof HubLinkConfigSchema>
export type AnomalyConfig = Static<typeof AnomalyConfigSchema>
export type RuleConfig = Static<typeof RuleSchema>
export type RulesConfig = Static<typeof RulesConfigSchema>
export type RuleActionConfig = Static<typeof RuleActionSchema>
