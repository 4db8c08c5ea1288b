import { Type, type Static } from '@sinclair/typebox'
import { alertSeveritySchema } from '../protocol/alerts.js'

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
 *
 * `x-device-local: true` on a key (or a section: everything beneath it) says
 * that only the edge's own config file may set it: it grants trust or runs
 * code (release keys, installer command, broker auth/ACL/TLS, listener hosts
 * and ports, any path, command or URL the edge trusts). A config document
 * from the hub or the local API that sets it is refused for that key
 * (CONFIG_ERR_DEVICE_LOCAL_KEY, shared/config-crdt/device-local-keys.ts).
 * test/unit/device-local-keys.test.ts fails when a key named like a path,
 * command, host, port or key lacks it.
 */

/** A listener port: device-local (a remote document must not move a listener). */
const port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description, 'x-device-local': true })

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

/**
 * The broker's TLS listener (MQTT over TLS, IANA port 8883), on when `certFile`
 * is set. Every key names a path or a listener, or decides who is trusted: set
 * only in the device's own config file (`x-device-local`).
 */
export const MqttTlsConfigSchema = Type.Object(
  {
    certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM server certificate (chain) of the TLS listener; set: the listener is on. `cloudos edge tls init` makes one.', 'x-device-local': true })),
    keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of certFile (keep it 0600).', 'x-device-local': true })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA certificate(s) that sign client certificates (mTLS); set: clients are asked for a certificate.', 'x-device-local': true })),
    requireClientCert: Type.Boolean({ default: false, description: 'Refuse TLS clients without a certificate signed by caFile (needs caFile).', 'x-device-local': true }),
    host: Type.Optional(Type.String({ minLength: 1, description: 'Interface of the TLS listener (default: mqtt.host).', 'x-device-local': true })),
    port: port(8883, 'TCP port of the TLS listener (0 picks a free port).'),
  },
  { additionalProperties: false, default: {}, 'x-device-local': true },
)

/**
 * What one client may cost the broker. A client over a limit is refused or
 * disconnected (never the edge); each refusal is counted in /metrics and makes
 * /healthz say "degraded" for a minute. docs/operations.md explains each.
 */
export const MqttLimitsConfigSchema = Type.Object(
  {
    maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Open connections (all listeners); more are closed at once, before any MQTT is read.' }),
    connectRatePerSecond: Type.Number({ minimum: 0.01, maximum: 1_000_000, default: 20, description: 'New connections per second from one source address (sustained); faster ones are closed at once.' }),
    connectBurst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100, description: 'New connections one source address may open back to back before connectRatePerSecond applies.' }),
    maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 268_435_455, default: 256 * 1024, description: 'Largest MQTT packet (remaining length: topic + payload), any topic; the connection of a client announcing a larger one is closed before the packet is read.' }),
    maxRetainedMessageBytes: Type.Integer({ minimum: 0, maximum: 268_435_455, default: 64 * 1024, description: 'Largest retained message payload; a larger retained PUBLISH is refused (the client is disconnected).' }),
    maxRetainedMessages: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 1000, description: 'Retained messages kept (topics); a retained PUBLISH on a new topic above it is refused.' }),
    maxSubscriptionsPerClient: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 1000, description: 'Subscriptions one client (session) may hold; more are refused with SUBACK 0x80.' }),
    maxQueuedMessages: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 1000, description: 'QoS 1/2 messages queued for one persistent session (offline, or not yet acknowledged); newer ones are dropped and counted.' }),
    maxQueuedBytes: Type.Integer({ minimum: 0, maximum: 2 ** 40, default: 64 * 1024 * 1024, description: 'Payload bytes queued for all persistent sessions together (a message queued for n sessions counts n times); above it newer messages are dropped and counted.' }),
    maxKeepaliveSeconds: Type.Integer({ minimum: 1, maximum: 65_535, default: 600, description: 'A CONNECT with keep-alive 0 or above this gets this: a client silent for 1.5 times it is disconnected.' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'A connection that has not sent CONNECT this long after opening is closed.' }),
  },
  { additionalProperties: false, default: {} },
)

export const MqttConfigSchema = Type.Object(
  {
    // Listener and access keys grant trust: only the device's own config file may set them ('x-device-local').
    host: Type.String({ default: '127.0.0.1', minLength: 1, 'x-device-local': true, description: 'Interface the embedded broker listens on (loopback by default; any other interface needs authentication, see docs/mqtt-security.md).' }),
    port: port(1883, 'TCP port of the embedded broker (0 picks a free port).'),
    brokerUrl: Type.Optional(
      Type.String({ pattern: '^mqtts?://', 'x-device-local': true, description: 'Use this external broker (e.g. Mosquitto) instead of the embedded one.' }),
    ),
    clientId: Type.String({ default: 'cloudos-edge', minLength: 1, maxLength: 64, description: 'Client id used with an external broker (persistent session).', 'x-device-local': true }),
    allowAnonymous: Type.Optional(
      Type.Boolean({ 'x-device-local': true, description: 'Accept clients without credentials. Unset: yes on a loopback listener, no on any other (true there is warned about at every start).' }),
    ),
    passwordFile: Type.Optional(
      Type.String({ minLength: 1, 'x-device-local': true, description: 'Password file of MQTT users (scrypt hashes, managed by `cloudos mqtt user`). Unset: mqtt-passwords in the data dir, used when it exists.' }),
    ),
    aclFile: Type.Optional(
      Type.String({ minLength: 1, 'x-device-local': true, description: 'Mosquitto-style ACL file (user/topic/pattern lines). Unset: the built-in rules of docs/mqtt-security.md.' }),
    ),
    tls: MqttTlsConfigSchema,
    limits: MqttLimitsConfigSchema,
  },
  { additionalProperties: false, default: {}, 'x-apply': 'restart' },
)

export const HttpConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Interface of the local HTTP API; a request whose Host header names neither it nor a loopback name is refused.', 'x-device-local': true }),
    port: port(8081, 'TCP port of the local HTTP API (0 picks a free port).'),
    socketPath: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'Also serve the local API on this Unix socket, mode 0600 (only the edge\'s user and root can connect); the token rules are the same.', 'x-device-local': true }),
    ),
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
      default: 'full',
      description: '"full": a committed (acknowledged) reading survives a power cut (an fsync per group commit); "normal": only a process crash (kill -9), faster on batched ingest (docs/benchmarks.md).',
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
      Type.String({ pattern: '^https?://', description: 'Base URL of the fleet hub (e.g. https://hub.example:8080); unset: the edge runs stand-alone. A new address is followed only when it proves the hub identity pinned at enrolment.', 'x-apply': 'restart', 'x-device-local': true }),
    ),
    insecureHttp: Type.Boolean({
      default: false,
      description: 'Allow a plain http:// hub URL (`--insecure-http`): the hub is then not authenticated. Only for a loopback demo or a hub behind a TLS proxy on the same host.',
      'x-apply': 'restart',
      'x-device-local': true,
    }),
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

export const OutboxConfigSchema = Type.Object(
  {
    windowMs: Type.Integer({ minimum: 1000, maximum: DAY, default: 5 * MINUTE, description: 'Raw readings are sealed into one compressed batch per closed time window of this length.' }),
    sealDelayMs: Type.Integer({ minimum: 0, maximum: DAY, default: 30_000, description: 'A window is sealed this long after it closed, so late readings still join it.' }),
    maxBatchReadings: Type.Integer({ minimum: 1000, maximum: 2_000_000, default: 250_000, description: 'A window with more readings is cut into several batches.' }),
    sealIntervalMs: Type.Integer({ minimum: 100, maximum: 10 * MINUTE, default: 10_000, description: 'How often the edge looks for windows to seal.' }),
    uploadIntervalMs: Type.Integer({ minimum: 100, maximum: 10 * MINUTE, default: 5000, description: 'How often the edge uploads sealed batches while the hub is reachable (a newly sealed batch is sent at once).' }),
    compressionLevel: Type.Integer({ minimum: 1, maximum: 19, default: 3, description: 'zstd level of sealed batches.' }),
  },
  { additionalProperties: false, default: {} },
)

// --- anomaly (edge inference loop) and rules (local critical decisions): feat/rules ---

export const AnomalyConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Score every reading with the anomaly model (false: no inference; value, rate and missing-data rules still run).' }),
    modelPath: Type.Optional(
      Type.String({ minLength: 1, description: 'Model to load: its card (.card.json) or its .onnx beside a card. Unset: the default model shipped in models/.', 'x-device-local': true }),
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
    severity: alertSeveritySchema({ default: 'warning', description: 'Severity of the alert.' }),
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

export const OtaHealthCheckConfigSchema = Type.Object(
  {
    requireHealthz: Type.Boolean({ default: true, description: 'The new version\'s GET /healthz must answer 200 "ok" at the end of the trial window.' }),
    requireBroker: Type.Boolean({ default: true, description: 'The new version\'s MQTT broker must accept a TCP connection at the end of the trial window.' }),
    requireIngest: Type.Boolean({ default: false, description: 'Readings stored must grow during the trial window (only where sensors publish continuously).' }),
  },
  { additionalProperties: false, default: {} },
)

export const OtaConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Poll the hub for OTA targets and install them (needs a hub; runtime bundles need `cloudos supervise`).' }),
    trustedKeys: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Trusted release public keys: PEM text or paths to PEM files. Bundles signed by any other key are refused; empty: every bundle is refused. After a release key rotation (a `release-keys` bundle) the rotated set replaces these until this list changes.',
      'x-device-local': true,
    }),
    pollIntervalSeconds: Type.Integer({ minimum: 0, maximum: 86_400, default: 0, description: 'Seconds between OTA target polls; 0 polls on the heartbeat cadence (hub.heartbeatIntervalSeconds).' }),
    stagingBudgetBytes: Type.Integer({ minimum: 0, default: 1024 * 1024 * 1024, description: 'Largest bundle the updater downloads into <dataDir>/ota/staging; larger ones are refused before downloading.' }),
    minFreeDiskBytes: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024, description: 'Free disk space left untouched: a bundle (and its extracted payload) must fit above it.' }),
    maxBundleBytes: Type.Integer({ minimum: 1024, default: 2 * 1024 * 1024 * 1024, description: 'Hard cap on a bundle file, whatever the hub announces.' }),
    trialWindowSeconds: Type.Number({ minimum: 0.5, maximum: 3600, default: 60, description: 'After switching to a new runtime, how long it must stay healthy before the update is committed.' }),
    readyTimeoutSeconds: Type.Number({ minimum: 1, maximum: 3600, default: 120, description: 'A new runtime on trial that has not printed its ready line this long after its start fails its trial.' }),
    crashLoopCount: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'This many crashes of the edge within crashLoopWindowSeconds is a crash loop (rollback during a trial).' }),
    crashLoopWindowSeconds: Type.Number({ minimum: 1, maximum: 3600, default: 60, description: 'Window for crash-loop detection.' }),
    maxTrialBoots: Type.Integer({ minimum: 1, maximum: 20, default: 3, description: 'Supervisor restarts (power cuts) during one trial before it rolls back.' }),
    restartDelayMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000, description: 'Supervisor: first delay before restarting a crashed edge (doubles per crash, up to 30 s).' }),
    healthCheck: OtaHealthCheckConfigSchema,
    installerHook: Type.Optional(
      Type.Union([Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 64 }), Type.String({ minLength: 1 })], {
        description:
          'Command that installs a `firmware` bundle, run without a shell: ["/path/to/program", "arg", ...] (a string is the program alone); gets CLOUDOS_OTA_PAYLOAD_DIR, CLOUDOS_OTA_NAME, CLOUDOS_OTA_VERSION, CLOUDOS_OTA_BUNDLE_ID; exit 0 = installed.',
        'x-device-local': true,
      }),
    ),
    installerHookTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 600, description: 'The installer hook is killed (and the install failed) after this long.' }),
    hardware: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'This device\'s hardware name, matched against a bundle\'s target.hardware patterns.' })),
  },
  { additionalProperties: false, default: {} },
)

export const EdgeConfigSchema = Type.Object(
  {
    mqtt: MqttConfigSchema,
    http: HttpConfigSchema,
    ingest: IngestConfigSchema,
    storage: StorageConfigSchema,
    hub: HubLinkConfigSchema,
    outbox: OutboxConfigSchema,
    config: ConfigSyncSchema,
    anomaly: AnomalyConfigSchema,
    rules: RulesConfigSchema,
    ota: OtaConfigSchema,
  },
  { additionalProperties: false, default: {} },
)

export type EdgeConfig = Static<typeof EdgeConfigSchema>
export type MqttConfig = Static<typeof MqttConfigSchema>
export type MqttTlsConfig = Static<typeof MqttTlsConfigSchema>
export type MqttLimitsConfig = Static<typeof MqttLimitsConfigSchema>
export type IngestConfig = Static<typeof IngestConfigSchema>
export type StorageConfig = Static<typeof StorageConfigSchema>
export type HubLinkConfig = Static<typeof HubLinkConfigSchema>
export type OutboxConfig = Static<typeof OutboxConfigSchema>
export type ConfigSyncConfig = Static<typeof ConfigSyncSchema>
export type AnomalyConfig = Static<typeof AnomalyConfigSchema>
export type RuleConfig = Static<typeof RuleSchema>
export type RulesConfig = Static<typeof RulesConfigSchema>
export type RuleActionConfig = Static<typeof RuleActionSchema>
export type OtaConfig = Static<typeof OtaConfigSchema>
