import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { silentLogger, type Logger } from '../shared/log/logger.js'
import { buildEdgeApi } from './api/app.js'
import { EdgeMetrics } from './api/metrics.js'
import { EmbeddedBroker } from './broker/embedded-broker.js'
import type { TelemetryBroker } from './broker/telemetry-broker.js'

import { EdgeConfigSchema } from '../shared/config/edge-config-schema.js'
import { ConfigAgent } from './config-sync/config-agent.js'
import { ConfigReplicaStore } from './config-sync/config-replica-store.js'
import type { ConfigSyncLoop } from './config-sync/config-sync-loop.js'
import { applyModeOf } from '../shared/config-crdt/apply-modes.js'
import { changedKeys } from '../shared/config-crdt/layers.js'
import type { AnomalyConfig, EdgeConfig, RulesConfig } from '../shared/config/edge-config-schema.js'
import { InferenceLoop } from './inference/inference-loop.js'
import { loadModelSource, type ModelSource } from './inference/model-source.js'
import { ScoreWriter } from './inference/score-writer.js'
import { AlertDispatcher } from './rules/alert-dispatcher.js'
import { RulesEngine } from './rules/rules-engine.js'
import { IngestPipeline } from './ingest/ingest-pipeline.js'
import type { HubLink, HubLinkStatus } from './hub-link/hub-link.js'
import { AlertStore } from './store/alert-store.js'
import { CommitWriter } from './store/commit-writer.js'
import { CountersStore } from './store/counters-store.js'
import { openEdgeDatabase } from './store/database.js'
import { databaseSizeBytes, type SqliteDatabase } from '../shared/sqlite/database.js'
import { DeadLetterStore } from './store/dead-letter-store.js'
import { ReadingsStore } from './store/readings-store.js'
import { RetentionJob } from './store/retention.js'
import { Outbox } from './outbox/outbox.js'
import { ScoreStore } from './store/score-store.js'

export interface EdgeRuntimeOptions {
  dataDir: string
  config: EdgeConfig
  logger?: Logger
  /** Enrols with `config.hub.url` on the first start; ignored once the data dir holds a device identity. */
  enrolmentToken?: string
  /** Test hook: runs after the hub's 200 for a telemetry batch, before the edge records it. */
  outboxAfterHubAck?: (seq: number) => void
  /** Called when an installed runtime update needs the supervisor to switch slots (stop, then exit with SWITCH_EXIT_CODE). */
  requestSwitch?: () => void
}

export interface EdgeEndpoints {
  mqttUrl: string
  mqttPort: number | null
  httpUrl: string
  httpPort: number
  dataDir: string
}

/**
 * The edge runtime: broker -> ingest pipeline (decode, group commit) -> SQLite,
 * plus the local HTTP API and the retention job. `start` brings it up; `stop`
 * stops intake, commits and acknowledges what is pending, and closes the store.
 */
export class EdgeRuntime {
  readonly #options: EdgeRuntimeOptions
  readonly #log: Logger
  #db: SqliteDatabase | undefined
  #pipeline: IngestPipeline | undefined
  #broker: TelemetryBroker | undefined
  #api: FastifyInstance | undefined
  #retention: RetentionJob | undefined
  #outbox: Outbox | undefined
  #alerts: AlertStore | undefined
  #hubLink: HubLink | undefined
  #rules: RulesEngine | undefined
  #dispatcher: AlertDispatcher | undefined
  #inference: InferenceLoop | undefined
  #scoreWriter: ScoreWriter | undefined
  #missingTimer: NodeJS.Timeout | undefined
  #updater: { stop(): Promise<void> } | undefined
  #modelLoading: Promise<void> | undefined
  #endpoints: EdgeEndpoints | undefined
  #configAgent: ConfigAgent | undefined
  #configSync: ConfigSyncLoop | undefined
  /** The config in effect (changes live through applyConfig). */
  #config: EdgeConfig | undefined
  /** The config the runtime started with: keys that need a restart are compared with it. */
  #startConfig: EdgeConfig | undefined
  readonly #applyHooks: ((next: EdgeConfig, changed: string[]) => void)[] = []
  #storageFailing = false
  #stopping: Promise<void> | undefined
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
    if (this.#pipeline === undefined) throw new Error('edge runtime is not started')
    return this.#pipeline
  }

  /** Where the rules engine raises alerts; the hub link forwards them. */
  get alerts(): AlertStore {
    if (this.#alerts === undefined) throw new Error('edge runtime is not started')
    return this.#alerts
  }

  /** The config in effect now. */
  get config(): EdgeConfig {
    return this.#config ?? this.#options.config
  }

  /** The config documents (replicas, effective config, edits on site). */
  get configAgent(): ConfigAgent {
    if (this.#configAgent === undefined) throw new Error('edge runtime is not started')
    return this.#configAgent
  }

  /**
   * Subsystems added later (rules, anomaly detection, outbox) register here
   * to be told of every live config change, with the dotted keys that changed.
   */
  onConfigApplied(hook: (next: EdgeConfig, changed: string[]) => void): void {
    this.#applyHooks.push(hook)
  }

  /**
   * Applies a validated config without restarting: ingest limits and group
   * commit, retention policy and schedule, hub link cadence, then the
   * registered hooks. Keys whose apply mode is 'restart' (see
   * shared/config-crdt/apply-modes.ts) are not applied: they are returned as
   * pending until the next start.
   */
  applyConfig(next: EdgeConfig): { applied: string[]; pendingRestart: string[] } {
    const previous = this.config
    const changed = changedKeys(previous, next)
    this.#config = next
    const live = changed.filter((key) => applyModeOf(EdgeConfigSchema, key) === 'live')
    const touched = (section: string) => live.some((key) => key.startsWith(`${section}.`))
    if (touched('ingest') || touched('storage')) this.#pipeline?.reconfigure(next.ingest, next.storage)
    if (live.includes('storage.retentionSchedule')) this.#scheduleRetention()
    if (touched('hub')) this.#hubLink?.reconfigure(next.hub)
    if (touched('outbox')) this.#outbox?.reconfigure(next.outbox)
    // Rules were checked with the merged config (edge/config/extra-checks.ts): update does not refuse them.
    if (touched('rules') && this.#rules !== undefined) this.updateRules(next.rules)
    if (touched('anomaly') && this.#inference !== undefined) {
      this.updateAnomaly(next.anomaly).catch((err: Error) => this.#log.error('the anomaly config could not be applied: the running model stays', { error: err.message }))
    }
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

  #scheduleRetention(): void {
    const log = this.#log
    this.#retention?.schedule(
      this.config.storage.retentionSchedule,
      () => this.config.storage,
      (err) => log.error('retention failed', { error: err.message }),
      (r) => {
        const deleted = r.readingsDeletedByAge + r.readingsDeletedByBudget
        if (deleted > 0) log.info('retention deleted old readings', { byAge: r.readingsDeletedByAge, byBudget: r.readingsDeletedByBudget })
      },
    )
  }

  /** The rules engine (local critical decisions). */
  get rules(): RulesEngine {
    if (this.#rules === undefined) throw new Error('edge runtime is not started')
    return this.#rules
  }

  /** Settles when the start-up model load has finished (loaded or failed: see `inference.status()`). */
  modelLoaded(): Promise<void> {
    return this.#modelLoading ?? Promise.resolve()
  }

  /** The inference loop (anomaly scores). */
  get inference(): InferenceLoop {
    if (this.#inference === undefined) throw new Error('edge runtime is not started')
    return this.#inference
  }

  /**
   * Live config: takes a new `rules` section. Throws RULES_ERR_INVALID and
   * keeps the running rules if one is inconsistent; unchanged rules keep
   * their open incidents and cooldowns.
   */
  updateRules(rules: RulesConfig): void {
    this.rules.update(rules)
    this.#scheduleMissingChecks()
  }

  /**
   * Live config: takes a new `anomaly` section (switch inference on or off,
   * swap the model when `modelPath` changed). A refused model throws
   * (MODEL_ERR_*) and the running model stays.
   */
  updateAnomaly(anomaly: AnomalyConfig): Promise<void> {
    return this.inference.update(anomaly)
  }

  hubStatus(): HubLinkStatus {
    return this.#hubLink?.status() ?? { state: 'disabled' }
  }

  async start(): Promise<EdgeEndpoints> {
    const { dataDir } = this.#options
    let config = this.#options.config
    const log = this.#log
    // Enrolment comes first: when it fails (hub unreachable, token refused)
    // the edge stops before opening anything. Once enrolled, no hub is needed.
    const hubLink = config.hub.url === undefined ? undefined : await import('./hub-link/connect.js')
    const identity =
      hubLink === undefined
        ? undefined
        : await hubLink.ensureEnrolled({
            dataDir,
            hubUrl: config.hub.url as string,
            enrolmentToken: this.#options.enrolmentToken,
            deviceName: config.hub.deviceName,
            timeoutMs: config.hub.requestTimeoutMs,
            log,
          })
    const db = openEdgeDatabase({ dataDir, synchronous: config.storage.synchronous })
    this.#db = db
    const counters = new CountersStore(db)
    const countRefusal = (code: string) => counters.add(`config_refused.${code}`, 1)
    const configStore = new ConfigReplicaStore(db)
    const agent = new ConfigAgent({ store: configStore, fileConfig: config, deviceId: identity?.deviceId ?? 'local', group: identity?.group, log, onRefused: countRefusal })
    this.#configAgent = agent
    // The config documents (last synced) take effect from the start; keys
    // that need a restart (ports, synchronous) are honoured here.
    config = agent.startupConfig()
    this.#config = config
    this.#startConfig = config
    if (config.storage.synchronous !== this.#options.config.storage.synchronous) db.pragma(`synchronous = ${config.storage.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    const alerts = new AlertStore(db)
    this.#alerts = alerts
    const deadLetters = new DeadLetterStore(db)
    const outbox = new Outbox({
      db,
      counters,
      config: config.outbox,
      log,
      ...(this.#options.outboxAfterHubAck === undefined ? {} : { afterHubAck: this.#options.outboxAfterHubAck }),
    })
    this.#outbox = outbox
    const readings = new ReadingsStore(db, outbox.sealed)
    const scores = new ScoreStore(db, readings)
    const dispatcher = new AlertDispatcher({
      alerts,
      publish: (topic, payload, options) => (this.#broker === undefined ? Promise.reject(new Error('broker is not started')) : this.#broker.publish(topic, payload, options)),
      log,
    })
    this.#dispatcher = dispatcher
    const rules = new RulesEngine({ rules: config.rules, onEvent: dispatcher.handle })
    this.#rules = rules
    // Series known from earlier runs are watched by missing-data rules from now on.
    for (const series of readings.listSeries()) rules.knowSeries(series.sensorId, series.metric)
    let modelSource: ModelSource | undefined
    const model = async () => (modelSource ??= await loadModelSource())
    const scoreWriter = new ScoreWriter({
      store: scores,
      intervalMs: config.anomaly.scoreCommitIntervalMs,
      model: () => this.#inference?.status().model?.name ?? 'unknown',
      log,
    })
    this.#scoreWriter = scoreWriter
    const inference = new InferenceLoop({
      config: config.anomaly,
      openRegistry: async (modelPath) => (await model()).openModelRegistry({ ...(modelPath === undefined ? {} : { modelPath }), logger: log }),
      defaultModelPath: () => {
        if (modelSource === undefined) throw new Error('the model module is not loaded')
        return modelSource.defaultModelPath()
      },
      onScores: (inputs, batchScores) => {
        scoreWriter.add(inputs, batchScores)
        for (let i = 0; i < inputs.length; i++) {
          const input = inputs[i]!
          rules.onScore(input.seriesKey, input.sensorId, input.metric, input.ts, batchScores[i] as number)
        }
      },
      log,
    })
    this.#inference = inference
    // The model loads alongside the broker and the API: ingest and value rules
    // do not wait for it; readings are scored once it is in (GET /v1/model).
    this.#modelLoading = inference.start()
    let metrics: EdgeMetrics | undefined
    const pipeline = new IngestPipeline({
      writer: new CommitWriter({ db, readings, deadLetters, counters }),
      ingest: config.ingest,
      storage: config.storage,
      onCommit: (seconds) => {
        this.#storageFailing = false
        metrics?.commitDuration.observe(seconds)
      },
      aroundAcks: (release) => (this.#broker instanceof EmbeddedBroker ? this.#broker.batchWrites(release) : release()),
      onCommitError: (err) => {
        if (!this.#storageFailing) log.error('commit failed; readings are kept in memory and retried', { error: err.message })
        this.#storageFailing = true
      },
      // Value and rate rules run on each reading as it is accepted (before
      // the group commit): an alert leaves within the same event-loop turn.
      onReading: (key, seriesKey, ts, value) => {
        try {
          rules.onReading(seriesKey, key.sensorId, key.metric, ts, value)
        } catch (err) {
          log.error('rule evaluation failed', { error: (err as Error).message })
        }
        if (inference.active) inference.offer(seriesKey, key.sensorId, key.metric, ts, value)
      },
    })
    this.#pipeline = pipeline
    const onTelemetry = pipeline.accept.bind(pipeline)
    const broker: TelemetryBroker =
      config.mqtt.brokerUrl === undefined
        ? new EmbeddedBroker({ host: config.mqtt.host, port: config.mqtt.port, onTelemetry })
        : // Loaded only when used: mqtt.js adds ~15 MB of resident memory.
          new (await import('./broker/external-broker.js')).ExternalBroker({
            url: config.mqtt.brokerUrl,
            clientId: config.mqtt.clientId,
            onTelemetry,
            requestPromptCommit: () => pipeline.requestPromptCommit(),
            log: (m) => log.warn(m),
          })
    this.#broker = broker
    const queueDepth = () => pipeline.queueDepth
    const sizeBytes = () => databaseSizeBytes(db)
    metrics = new EdgeMetrics({
      stats: pipeline.stats,
      queueDepth,
      databaseSizeBytes: sizeBytes,
      connectedClients: () => broker.info().connectedClients,
      counters: () => counters.all(),
      outbox: () => outbox.store.counts(),
      decisions: () => {
        const inferenceStatus = inference.status()
        return {
          alertsRaised: rules.stats.raised,
          alertsCleared: rules.stats.cleared,
          alertsSuppressedByCooldown: rules.stats.suppressedByCooldown,
          actionFailures: dispatcher.stats.actionFailures,
          readingsScored: inferenceStatus.readingsScored,
          readingsSkipped: inferenceStatus.readingsSkipped,
          inferenceRunFailures: inferenceStatus.runFailures,
        }
      },
    })
    const api = await buildEdgeApi({
      context: {
        readings,
        deadLetters,
        counters,
        alerts,
        scores,
        inference,
        rulesStatus: () => ({ ...rules.stats, ...dispatcher.stats }),
        scoreStats: () => scoreWriter.stats,
        hubStatus: () => this.hubStatus(),
        stats: pipeline.stats,
        metrics,
        config: { agent, syncStatus: () => this.#configSync?.status() ?? { state: 'disabled' } },
        queueDepth,
        databaseSizeBytes: sizeBytes,
        health: () => {
          const info = broker.info()
          return {
            status: info.connected && !this.#storageFailing ? 'ok' : 'degraded',
            uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
            broker: info,
            storageFailing: this.#storageFailing,
            // The hub is optional: offline or revoked does not degrade the edge.
            hub: this.hubStatus(),
          }
        },
      },
    })
    this.#api = api
    try {
      await broker.start()
      await api.listen({ host: config.http.host, port: config.http.port })
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#retention = new RetentionJob(db, counters, deadLetters)
    this.#scheduleRetention()
    const retention = new RetentionJob(db, counters, deadLetters)
    retention.schedule(
      config.storage.retentionSchedule,
      () => config.storage,
      (err) => log.error('retention failed', { error: err.message }),
      (r) => {
        try {
          const days = config.storage.retentionDays
          scores.prune(days > 0 ? Date.now() - days * 86_400_000 : undefined)
        } catch (err) {
          log.error('retention of anomaly scores failed', { error: (err as Error).message })
        }
        const deleted = r.readingsDeletedByAge + r.readingsDeletedByBudget
        if (deleted > 0) log.info('retention deleted old readings', { byAge: r.readingsDeletedByAge, byBudget: r.readingsDeletedByBudget })
      },
    )
    this.#retention = retention
    outbox.start()
    this.#scheduleMissingChecks()
    const httpPort = (api.server.address() as AddressInfo).port
    const mqttPort = broker instanceof EmbeddedBroker ? broker.port : null
    this.#endpoints = {
      mqttUrl: broker instanceof EmbeddedBroker ? `mqtt://127.0.0.1:${broker.port}` : (config.mqtt.brokerUrl as string),
      mqttPort,
      httpUrl: `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${httpPort}`,
      httpPort,
      dataDir,
    }
    if (hubLink !== undefined && identity !== undefined) {
      const link = hubLink.connectHubLink({
        identity,
        config: config.hub,
        alerts,
        log,
        outbox: (client) => outbox.linkFor(client),
        health: {
          readingsStored: () => pipeline.stats.readingsStored,
          readingsRejected: () => pipeline.stats.readingsRejected,
          queueDepth,
          dbSizeBytes: sizeBytes,
          uptimeSeconds: () => (Date.now() - this.#startedAt) / 1000,
        },
      })
      this.#hubLink = link
      const { ConfigSyncLoop } = await import('./config-sync/config-sync-loop.js')
      this.#configSync = new ConfigSyncLoop({
        client: link.client,
        agent,
        store: configStore,
        log,
        onRefused: countRefusal,
        settings: () => ({ longPollSeconds: this.config.config.longPollSeconds, requestTimeoutMs: this.config.hub.requestTimeoutMs, backoffInitialMs: this.config.hub.backoffInitialMs, backoffMaxMs: this.config.hub.backoffMaxMs }),
      })
      this.#configSync.start()
    }
    if (identity !== undefined && config.ota.enabled) {
      // Loaded only with a hub: the updater and the bundle verifier.
      const { startOtaUpdater } = await import('./ota/start-updater.js')
      this.#updater = startOtaUpdater({
        dataDir,
        identity,
        config,
        log,
        requestSwitch: this.#options.requestSwitch ?? (() => log.error('a runtime update asked for a slot switch, but no supervisor runs this edge')),
        // A model bundle goes straight to the model registry (validated against its card, warmed, switched atomically).
        activateModel: async (modelDir) => {
          const { modelCardIn } = await import('./ota/model-bundle.js')
          const model = await this.inference.swap(modelCardIn(modelDir))
          log.info(`model ${model.name} ${model.version} from an OTA bundle is running`)
        },
      })
    }
    agent.attach((next) => this.applyConfig(next))
    log.info(`edge runtime started: ${broker.describe()}, HTTP API ${this.#endpoints.httpUrl}, data in ${dataDir}`)
    return this.#endpoints
  }

  /** Graceful stop: no new messages, commit and acknowledge pending ones, close the database. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  #scheduleMissingChecks(): void {
    if (this.#missingTimer !== undefined) clearInterval(this.#missingTimer)
    this.#missingTimer = undefined
    const rules = this.#rules
    const interval = rules?.missingCheckIntervalMs()
    if (rules === undefined || interval === undefined || this.#stopping !== undefined) return
    this.#missingTimer = setInterval(() => rules.checkMissing(), interval)
    this.#missingTimer.unref()
  }

  async #stop(): Promise<void> {
    this.#retention?.stop()
    this.#outbox?.stop()
    await this.#configSync?.stop()
    if (this.#missingTimer !== undefined) clearInterval(this.#missingTimer)
    await this.#updater?.stop()
    await this.#hubLink?.stop()
    // Commit first so that QoS 1 acks still reach connected clients, then close the broker.
    const committed = this.#pipeline?.flush() ?? true
    await this.#broker?.close().catch((err: Error) => this.#log.warn('closing the broker failed', { error: err.message }))
    const closedCleanly = this.#pipeline?.close() ?? committed
    // Score what was accepted, then write the scores before the database closes.
    await this.#modelLoading
    await this.#inference?.close().catch((err: Error) => this.#log.warn('closing the inference loop failed', { error: err.message }))
    this.#scoreWriter?.close()
    if (!closedCleanly) this.#log.error('final commit failed: unacknowledged QoS 1 messages will be re-sent by their publishers')
    await this.#api?.close()
    if (this.#db?.open) {
      try {
        this.#db.pragma('wal_checkpoint(TRUNCATE)')
      } catch {
        // A checkpoint is an optimisation; the WAL is replayed on next open.
      }
      this.#db.close()
    }
    this.#log.info('edge runtime stopped')
  }
}
