import { databaseSizeBytes, type SqliteDatabase } from '../../shared/sqlite/database.js'
import type { EdgeApiContext } from '../api/context.js'
import { EdgeMetrics } from '../api/metrics.js'
import type { TelemetryBroker } from '../broker/telemetry-broker.js'
import type { ConfigAgent } from '../config-sync/config-agent.js'
import type { ConfigSyncStatus } from '../config-sync/config-sync-loop.js'
import type { HubLinkStatus } from '../hub-link/hub-link.js'
import type { Outbox } from '../outbox/outbox.js'
import type { AlertStore } from '../store/alert-store.js'
import type { CountersStore } from '../store/counters-store.js'
import type { DeadLetterStore } from '../store/dead-letter-store.js'
import type { ReadingsStore } from '../store/readings-store.js'
import type { ScoreStore } from '../store/score-store.js'
import type { InferenceService } from './inference-service.js'
import type { IngestService } from './ingest-service.js'
import type { RulesService } from './rules-service.js'

/** What the local API and /metrics read, from the stores and the services of a runtime. */
export interface ApiSources {
  db: SqliteDatabase
  readings: ReadingsStore
  deadLetters: DeadLetterStore
  counters: CountersStore
  alerts: AlertStore
  scores: ScoreStore
  outbox: Outbox
  agent: ConfigAgent
  ingest: IngestService
  broker: TelemetryBroker
  rules: RulesService
  inference: InferenceService
  hubStatus: () => HubLinkStatus
  configSyncStatus: () => ConfigSyncStatus | { state: 'disabled' }
  startedAt: number
}

/** The Prometheus metrics and the context of the local API (edge/api/context.ts) of a runtime. */
export function edgeApiContext(sources: ApiSources): EdgeApiContext {
  const { db, counters, outbox, ingest, broker, rules, inference } = sources
  const pipeline = ingest.pipeline
  const queueDepth = () => pipeline.queueDepth
  const sizeBytes = () => databaseSizeBytes(db)
  const metrics = new EdgeMetrics({
    stats: pipeline.stats,
    queueDepth,
    databaseSizeBytes: sizeBytes,
    connectedClients: () => broker.info().connectedClients,
    ...(broker.accessDenials === undefined ? {} : { mqttDenials: () => broker.accessDenials?.() ?? {} }),
    brokerLimits: () => broker.limitStatus?.(),
    counters: () => counters.all(),
    outbox: () => outbox.store.counts(),
    decisions: () => {
      const inferenceStatus = inference.loop.status()
      return {
        alertsRaised: rules.engine.stats.raised,
        alertsCleared: rules.engine.stats.cleared,
        alertsSuppressedByCooldown: rules.engine.stats.suppressedByCooldown,
        actionFailures: rules.dispatcher.stats.actionFailures,
        readingsScored: inferenceStatus.readingsScored,
        readingsSkipped: inferenceStatus.readingsSkipped,
        inferenceRunFailures: inferenceStatus.runFailures,
      }
    },
  })
  return {
    readings: sources.readings,
    deadLetters: sources.deadLetters,
    counters,
    alerts: sources.alerts,
    scores: sources.scores,
    inference: inference.loop,
    rulesStatus: () => ({ ...rules.engine.stats, ...rules.dispatcher.stats }),
    scoreStats: () => inference.scoreWriter.stats,
    hubStatus: sources.hubStatus,
    stats: pipeline.stats,
    metrics,
    config: { agent: sources.agent, syncStatus: sources.configSyncStatus },
    queueDepth,
    databaseSizeBytes: sizeBytes,
    health: () => {
      const info = broker.info()
      const mqttLimitsHit = broker.limitStatus?.().degradedBy ?? []
      const reasons = [
        ...(info.connected ? [] : ['the broker is not connected']),
        ...(ingest.storageFailing ? ['commits are failing (storage)'] : []),
        ...mqttLimitsHit.map((limit) => `MQTT clients hit the broker limit "${limit}" in the last minute`),
      ]
      return {
        status: reasons.length === 0 ? 'ok' : 'degraded',
        reasons,
        uptimeSeconds: Math.round((Date.now() - sources.startedAt) / 1000),
        broker: info,
        mqttLimitsHit,
        storageFailing: ingest.storageFailing,
        // The hub is optional: offline or revoked does not degrade the edge.
        hub: sources.hubStatus(),
      }
    },
  }
}
