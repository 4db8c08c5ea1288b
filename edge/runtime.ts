import { silentLogger, type Logger } from '../shared/log/logger.js'
import { EdgeConfigSchema, type AnomalyConfig, type EdgeConfig, type RulesConfig } from '../shared/config/edge-config-schema.js'
import { applyModeOf } from '../shared/config-crdt/apply-modes.js'
import { changedKeys } from '../shared/config-crdt/layers.js'
import { databaseSizeBytes, type SqliteDatabase } from '../shared/sqlite/database.js'
import { ApiTokenSource } from './api/auth/api-token.js'
import type { EdgeApiContext } from './api/context.js'
import type { TelemetryBroker } from './broker/telemetry-broker.js'
import { ConfigAgent } from './config-sync/config-agent.js'
import { ConfigReplicaStore } from './config-sync/config-replica-store.js'
import { noFaultPoints, type FaultPoints } from './fault-points.js'
import type { DeviceIdentity } from './hub-link/device-identity.js'
import type { HubLinkStatus } from './hub-link/hub-link.js'
import type { InferenceLoop } from './inference/inference-loop.js'
import type { IngestPipeline } from './ingest/ingest-pipeline.js'
import { Outbox } from './outbox/outbox.js'
import { StreamEpochs } from './outbox/stream-epochs.js'
import type { RulesEngine } from './rules/rules-engine.js'
import { edgeApiContext } from './services/api-context.js'
import { ApiService } from './services/api-service.js'
import { BrokerService, createBroker } from './services/broker-service.js'
import { DatabaseService } from './services/database-service.js'
import { EdgeServices } from './services/edge-services.js'
import type { HubLinkService } from './services/hub-link-service.js'
import { hubServices } from './services/hub-services.js'
import { InferenceService } from './services/inference-service.js'
import { IngestService } from './services/ingest-service.js'
import { OtaService } from './services/ota-service.js'
import { OutboxService } from './services/outbox-service.js'
import { RetentionService } from './services/retention-service.js'
import { RulesService } from './services/rules-service.js'
import { AlertStore } from './store/alert-store.js'
import { CountersStore } from './store/counters-store.js'
import { openEdgeDatabase } from './store/database.js'
import { secureDataDir } from './store/data-dir-permissions.js'
import { DeadLetterStore } from './store/dead-letter-store.js'
import { ReadingsStore } from './store/readings-store.js'
import { ScoreStore } from './store/score-store.js'

/** Counters-table key of hub endpoints refused for failing to prove the pinned identity (cloudos_edge_hub_identity_refusals_total). */
export const HUB_IDENTITY_REFUSALS_COUNTER = 'hub_identity_refused'

export interface EdgeRuntimeOptions {
  dataDir: string
  config: EdgeConfig
  logger?: Logger
  /** Enrols with `config.hub.url` on the first start; ignored once the data dir holds a device identity. */
  enrolmentToken?: string
  /** Crash and hold points for tests (edge/fault-points.ts); none in the product. */
  faults?: FaultPoints
  /** Called when an installed runtime update needs the supervisor to switch slots (stop, then exit with SWITCH_EXIT_CODE). */
  requestSwitch?: () => void
}

export interface EdgeEndpoints {
  mqttUrl: string
  mqttPort: number | null
  /** The embedded broker's TLS listener (mqtt.tls), null when off. */
  mqttTlsPort: number | null
  httpUrl: string
  httpPort: number
  dataDir: string
}

/** The services of a started runtime that its getters and live updates reach. */
/** What `start` needs of the assembled services once they run. */
interface Assembled {
  mqtt: TelemetryBroker
  api: ApiService
  agent: ConfigAgent
}

interface Running {
  services: EdgeServices
  ingest: IngestService
  rules: RulesService
  inference: InferenceService
  hubLink: HubLinkService | undefined
  alerts: AlertStore
  agent: ConfigAgent
}

/**
 * The edge runtime, assembled from services (edge/services/): database, API,
 * inference, ingest, broker, retention, outbox, rules, then with a hub the hub
 * link, config sync and OTA. They start in that order and stop in reverse: the
 * broker commits what is pending (QoS 1 acks still reach clients) and closes,
 * the final commit follows, then the accepted readings are scored and the
 * scores written, the API closes, and the database is checkpointed and closed.
 */
export class EdgeRuntime {
  readonly #options: EdgeRuntimeOptions
  readonly #log: Logger
  #running: Running | undefined
  #endpoints: EdgeEndpoints | undefined
  /** The config in effect (changes live through applyConfig). */
  #config: EdgeConfig | undefined
  /** The config the runtime started with: keys that need a restart are compared with it. */
  #startConfig: EdgeConfig | undefined
  readonly #applyHooks: ((next: EdgeConfig, changed: string[]) => void)[] = []
  #stopping: Promise<void> | undefined
  /** Hub endpoints refused (pinned identity not proven) before the counters table was open. */
  #identityRefusalsBeforeOpen = 0
  readonly #startedAt = Date.now()

  constructor(options: EdgeRuntimeOptions) {
    this.#options = options
    this.#log = options.logger ?? silentLogger
  }

  get endpoints(): EdgeEndpoints {
    if (this.#endpoints === undefined) throw new Error('edge runtime is not started')
    return this.#endpoints
  }

  get pipeline(): IngestPipeline {
    return this.#started().ingest.pipeline
  }

  /** Where the rules engine raises alerts; the hub link forwards them. */
  get alerts(): AlertStore {
    return this.#started().alerts
  }

  /** The config in effect now. */
  get config(): EdgeConfig {
    return this.#config ?? this.#options.config
  }

  /** The config documents (replicas, effective config, edits on site). */
  get configAgent(): ConfigAgent {
    return this.#started().agent
  }

  /** The rules engine (local critical decisions). */
  get rules(): RulesEngine {
    return this.#started().rules.engine
  }

  /** The inference loop (anomaly scores). */
  get inference(): InferenceLoop {
    return this.#started().inference.loop
  }

  /** Told of every live config change after the services, with the dotted keys that changed. */
  onConfigApplied(hook: (next: EdgeConfig, changed: string[]) => void): void {
    this.#applyHooks.push(hook)
  }

  /**
   * Applies a validated config without restarting: each service that owns a
   * changed section takes it (edge/services/), then the registered hooks run.
   * Keys whose apply mode is 'restart' (shared/config-crdt/apply-modes.ts)
   * are not applied: they are returned as pending until the next start.
   */
  applyConfig(next: EdgeConfig): { applied: string[]; pendingRestart: string[] } {
    const previous = this.config
    this.#config = next
    const live = changedKeys(previous, next).filter((key) => applyModeOf(EdgeConfigSchema, key) === 'live')
    this.#running?.services.reconfigure(next, live)
    for (const hook of this.#applyHooks) {
      try {
        hook(next, live)
      } catch (err) {
        this.#log.error('a config hook failed', { error: (err as Error).message })
      }
    }
    const start = this.#startConfig ?? previous
    const pendingRestart = changedKeys(start, next).filter((key) => applyModeOf(EdgeConfigSchema, key) === 'restart')
    return { applied: live, pendingRestart }
  }

  /** Settles when the start-up model load has finished (loaded or failed: see `inference.status()`). */
  modelLoaded(): Promise<void> {
    return this.#running?.inference.loaded() ?? Promise.resolve()
  }

  /**
   * Live config: takes a new `rules` section. Throws RULES_ERR_INVALID and
   * keeps the running rules if one is inconsistent; unchanged rules keep
   * their open incidents and cooldowns.
   */
  updateRules(rules: RulesConfig): void {
    this.#started().rules.update(rules)
  }

  /**
   * Live config: takes a new `anomaly` section (switch inference on or off,
   * swap the model when `modelPath` changed). A refused model throws
   * (MODEL_ERR_*) and the running model stays.
   */
  updateAnomaly(anomaly: AnomalyConfig): Promise<void> {
    return this.#started().inference.update(anomaly)
  }

  hubStatus(): HubLinkStatus {
    return this.#running?.hubLink?.status() ?? { state: 'disabled' }
  }

  async start(): Promise<EdgeEndpoints> {
    const { dataDir } = this.#options
    const log = this.#log
    secureDataDir(dataDir, log)
    // Enrolment comes first: when it fails (hub unreachable, token refused)
    // the edge stops before opening anything. Once enrolled, no hub is needed.
    const hubUrl = this.#options.config.hub.url
    const connect = hubUrl === undefined ? undefined : await import('./hub-link/connect.js')
    const identity = await connect?.ensureEnrolled({
      dataDir,
      hubUrl: hubUrl as string,
      enrolmentToken: this.#options.enrolmentToken,
      deviceName: this.#options.config.hub.deviceName,
      timeoutMs: this.#options.config.hub.requestTimeoutMs,
      insecureHttp: this.#options.config.hub.insecureHttp,
      // Counted once the database (and its counters table) is open.
      onIdentityRefused: () => (this.#identityRefusalsBeforeOpen += 1),
      log,
    })
    const db = openEdgeDatabase({ dataDir, synchronous: this.#options.config.storage.synchronous })
    let assembled: Assembled
    try {
      assembled = await this.#assemble(db, identity, connect)
    } catch (err) {
      // Nothing has started yet: only the database is open.
      db.close()
      throw err
    }
    const { mqtt, api, agent } = assembled
    try {
      await this.#started().services.start()
    } catch (err) {
      await this.stop()
      throw err
    }
    const mqttEndpoint = mqtt.endpoint()
    this.#endpoints = { mqttUrl: mqttEndpoint.url, mqttPort: mqttEndpoint.port, mqttTlsPort: mqttEndpoint.tlsPort ?? null, httpUrl: api.url, httpPort: api.port, dataDir }
    agent.attach((next) => this.applyConfig(next))
    log.info(`edge runtime started: ${mqtt.describe()}, HTTP API ${this.#endpoints.httpUrl}, data in ${dataDir}`)
    return this.#endpoints
  }

  /** Builds every service over the open database and registers them in dependency order (nothing starts here). */
  async #assemble(db: SqliteDatabase, identity: DeviceIdentity | undefined, connect: typeof import('./hub-link/connect.js') | undefined): Promise<Assembled> {
    const { dataDir } = this.#options
    const log = this.#log
    const faults = this.#options.faults ?? noFaultPoints
    const services = new EdgeServices(log)
    services.register(new DatabaseService(db))
    const counters = new CountersStore(db)
    const countIdentityRefusal = (n = 1) => counters.add(HUB_IDENTITY_REFUSALS_COUNTER, n)
    if (this.#identityRefusalsBeforeOpen > 0) countIdentityRefusal(this.#identityRefusalsBeforeOpen)
    const countRefusal = (code: string) => counters.add(`config_refused.${code}`, 1)
    const countHubRefusal = (code: string) => counters.add(`hub_refused.${code}`, 1)
    const configStore = new ConfigReplicaStore(db)
    const agent = new ConfigAgent({ store: configStore, fileConfig: this.#options.config, deviceId: identity?.deviceId ?? 'local', group: identity?.group, log, onRefused: countRefusal })
    // The config documents (last synced) take effect from the start; keys
    // that need a restart (ports, synchronous) are honoured here.
    const config = agent.startupConfig()
    this.#config = config
    this.#startConfig = config
    if (config.storage.synchronous !== this.#options.config.storage.synchronous) db.pragma(`synchronous = ${config.storage.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    const alerts = new AlertStore(db)
    const deadLetters = new DeadLetterStore(db)
    // With a hub: the upload stream epoch, checked against its marker before anything is uploaded (a restored database starts a new one).
    const stream = identity === undefined ? undefined : new StreamEpochs({ db, dataDir, counters, log })
    stream?.open()
    const outbox = new Outbox({ db, counters, config: config.outbox, log, ...(stream === undefined ? {} : { stream }), ...(faults.afterHubAck === undefined ? {} : { afterHubAck: faults.afterHubAck }) })
    const readings = new ReadingsStore(db, outbox.sealed)
    const scores = new ScoreStore(db, readings)
    let broker: BrokerService | undefined
    const rules = new RulesService({ rules: config.rules, alerts, knownSeries: readings.listSeries(), broker: () => broker?.broker, log })
    const inference = new InferenceService({
      config,
      scores,
      log,
      onScores: (inputs, batchScores) => rules.onScores(inputs, batchScores),
    })
    let apiContext: EdgeApiContext | undefined
    const ingest = new IngestService({
      db,
      readings,
      deadLetters,
      counters,
      config,
      log,
      observeCommit: (seconds) => apiContext?.metrics.commitDuration.observe(seconds),
      aroundAcks: (release) => (broker === undefined ? release() : broker.broker.batchWrites(release)),
      onReading: (key, seriesKey, ts, value) => {
        rules.onReading(seriesKey, key.sensorId, key.metric, ts, value)
        if (inference.loop.active) inference.loop.offer(seriesKey, key.sensorId, key.metric, ts, value)
      },
    })
    const pipeline = ingest.pipeline
    broker = new BrokerService(
      await createBroker({ mqtt: config.mqtt, dataDir, onTelemetry: pipeline.accept.bind(pipeline), requestPromptCommit: () => pipeline.requestPromptCommit(), log }),
      () => pipeline.flush(),
      log,
    )
    const mqtt = broker.broker
    const hub =
      connect === undefined || identity === undefined
        ? undefined
        : hubServices({
            connect,
            identity,
            config,
            alerts,
            outbox,
            agent,
            configStore,
            onConfigRefused: countRefusal,
            onHubRefused: countHubRefusal,
            ...(stream === undefined ? {} : { stream }),
            onIdentityRefused: () => countIdentityRefusal(),
            log,
            health: {
              readingsStored: () => pipeline.stats.readingsStored,
              readingsRejected: () => pipeline.stats.readingsRejected,
              queueDepth: () => pipeline.queueDepth,
              dbSizeBytes: () => databaseSizeBytes(db),
              uptimeSeconds: () => (Date.now() - this.#startedAt) / 1000,
            },
          })
    apiContext = edgeApiContext({
      db,
      readings,
      deadLetters,
      counters,
      alerts,
      scores,
      outbox,
      agent,
      ingest,
      broker: mqtt,
      rules,
      inference,
      hubStatus: () => this.hubStatus(),
      configSyncStatus: () => hub?.configSync.status() ?? { state: 'disabled' },
      startedAt: this.#startedAt,
    })
    const apiToken = new ApiTokenSource(dataDir)
    const api = new ApiService(config.http, apiContext, () => apiToken.current())
    // Dependency order: each service starts after what it uses and stops before it.
    services.register(api)
    services.register(inference)
    services.register(ingest)
    services.register(broker)
    services.register(new RetentionService({ db, counters, deadLetters, scores, config: () => this.config, log }))
    services.register(new OutboxService(outbox))
    services.register(rules)
    if (hub !== undefined) {
      services.register(hub.hubLink)
      services.register(hub.configSync)
    }
    if (identity !== undefined && config.ota.enabled) {
      services.register(
        new OtaService({
          dataDir,
          identity,
          config,
          log,
          faults,
          requestSwitch: this.#options.requestSwitch ?? (() => log.error('a runtime update asked for a slot switch, but no supervisor runs this edge')),
          models: inference.loop,
          onHubRefused: countHubRefusal,
        }),
      )
    }
    this.#running = { services, ingest, rules, inference, hubLink: hub?.hubLink, alerts, agent }
    return { mqtt, api, agent }
  }

  /** Graceful stop: the services in reverse start order (see the class comment). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    await this.#running?.services.stop()
    this.#log.info('edge runtime stopped')
  }

  #started(): Running {
    if (this.#running === undefined) throw new Error('edge runtime is not started')
    return this.#running
  }
}
