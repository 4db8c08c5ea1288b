import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { silentLogger, type Logger } from '../shared/log/logger.js'
import { buildEdgeApi } from './api/app.js'
import { EdgeMetrics } from './api/metrics.js'
import { EmbeddedBroker } from './broker/embedded-broker.js'
import type { TelemetryBroker } from './broker/telemetry-broker.js'
import type { EdgeConfig } from './config/schema.js'
import { IngestPipeline } from './ingest/ingest-pipeline.js'
import type { HubLink, HubLinkStatus } from './hub-link/hub-link.js'
import { AlertStore } from './store/alert-store.js'
import { CommitWriter } from './store/commit-writer.js'
import { CountersStore } from './store/counters-store.js'
import { databaseSizeBytes, openEdgeDatabase, type SqliteDatabase } from './store/database.js'
import { DeadLetterStore } from './store/dead-letter-store.js'
import { ReadingsStore } from './store/readings-store.js'
import { RetentionJob } from './store/retention.js'

export interface EdgeRuntimeOptions {
  dataDir: string
  config: EdgeConfig
  logger?: Logger
  /** Enrols with `config.hub.url` on the first start; ignored once the data dir holds a device identity. */
  enrolmentToken?: string
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
  #alerts: AlertStore | undefined
  #hubLink: HubLink | undefined
  #updater: { stop(): Promise<void> } | undefined
  #endpoints: EdgeEndpoints | undefined
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

  hubStatus(): HubLinkStatus {
    return this.#hubLink?.status() ?? { state: 'disabled' }
  }

  async start(): Promise<EdgeEndpoints> {
    const { config, dataDir } = this.#options
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
    const alerts = new AlertStore(db)
    this.#alerts = alerts
    const readings = new ReadingsStore(db)
    const deadLetters = new DeadLetterStore(db)
    const counters = new CountersStore(db)
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
    })
    const api = await buildEdgeApi({
      context: {
        readings,
        deadLetters,
        counters,
        alerts,
        hubStatus: () => this.hubStatus(),
        stats: pipeline.stats,
        metrics,
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
    const retention = new RetentionJob(db, counters, deadLetters)
    retention.schedule(
      config.storage.retentionSchedule,
      () => config.storage,
      (err) => log.error('retention failed', { error: err.message }),
      (r) => {
        const deleted = r.readingsDeletedByAge + r.readingsDeletedByBudget
        if (deleted > 0) log.info('retention deleted old readings', { byAge: r.readingsDeletedByAge, byBudget: r.readingsDeletedByBudget })
      },
    )
    this.#retention = retention
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
      this.#hubLink = hubLink.connectHubLink({
        identity,
        config: config.hub,
        alerts,
        log,
        health: {
          readingsStored: () => pipeline.stats.readingsStored,
          readingsRejected: () => pipeline.stats.readingsRejected,
          queueDepth,
          dbSizeBytes: sizeBytes,
          uptimeSeconds: () => (Date.now() - this.#startedAt) / 1000,
        },
      })
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
      })
    }
    log.info(`edge runtime started: ${broker.describe()}, HTTP API ${this.#endpoints.httpUrl}, data in ${dataDir}`)
    return this.#endpoints
  }

  /** Graceful stop: no new messages, commit and acknowledge pending ones, close the database. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    this.#retention?.stop()
    await this.#updater?.stop()
    await this.#hubLink?.stop()
    // Commit first so that QoS 1 acks still reach connected clients, then close the broker.
    const committed = this.#pipeline?.flush() ?? true
    await this.#broker?.close().catch((err: Error) => this.#log.warn('closing the broker failed', { error: err.message }))
    const closedCleanly = this.#pipeline?.close() ?? committed
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
