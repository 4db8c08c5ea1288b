import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { REJECT_REASONS } from '../../shared/telemetry.js'
import type { BrokerLimitStatus } from '../broker/limits/broker-limits.js'
import type { IngestStats } from '../ingest/ingest-stats.js'
import { registerBrokerLimitMetrics } from './broker-limit-metrics.js'

export interface EdgeMetricsSources {
  stats: IngestStats
  queueDepth: () => number
  databaseSizeBytes: () => number
  connectedClients: () => number | null
  /** Lifetime counters (counters table): readings dropped before upload, by reason. */
  counters?: () => Record<string, number>
  /** The outbox's backlog (sealed batches not yet confirmed by the hub). */
  outbox?: () => { pendingBatches: number; pendingReadings: number; pendingBytes: number }
  /** Rules and inference counters (absent: not exported). */
  decisions?: () => DecisionCounters
  /** Embedded broker refusals (authentication, client id, ACL) per reason (absent: external broker, not exported). */
  mqttDenials?: () => Readonly<Record<string, number>>
  /** The embedded broker's limits (absent or undefined: not exported). */
  brokerLimits?: () => BrokerLimitStatus | undefined
}

export interface DecisionCounters {
  alertsRaised: number
  alertsCleared: number
  alertsSuppressedByCooldown: number
  actionFailures: number
  readingsScored: number
  readingsSkipped: number
  inferenceRunFailures: number
}

/**
 * The edge's Prometheus metrics (prefix `cloudos_edge_`). Counters mirror the
 * ingest path's plain counters at scrape time, so the hot path pays nothing
 * per message; the commit histogram is observed once per group commit.
 */
export class EdgeMetrics {
  readonly registry = new Registry()
  readonly commitDuration: Histogram
  /** Local API requests refused before routing (no or wrong token, foreign Host header), by code. */
  readonly apiRequestsRefused: Counter<'code'>

  constructor(sources: EdgeMetricsSources) {
    const registry = this.registry
    collectDefaultMetrics({ register: registry, prefix: 'cloudos_edge_process_' })
    const mirror = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset()
          this.inc(read())
        },
      })
    mirror('cloudos_edge_messages_received_total', 'MQTT messages received on sensors/ topics.', () => sources.stats.messagesReceived)
    mirror('cloudos_edge_readings_received_total', 'Readings received (valid or not).', () => sources.stats.readingsReceived)
    mirror('cloudos_edge_readings_stored_total', 'Readings committed to SQLite.', () => sources.stats.readingsStored)
    mirror('cloudos_edge_commits_total', 'Group commits.', () => sources.stats.commits)
    mirror('cloudos_edge_commit_failures_total', 'Group commits that failed (retried).', () => sources.stats.commitFailures)
    const decisions = sources.decisions
    if (decisions !== undefined) {
      mirror('cloudos_edge_alerts_raised_total', 'Alerts raised by local rules.', () => decisions().alertsRaised)
      mirror('cloudos_edge_alerts_cleared_total', 'Alerted incidents that ended (clear level reached).', () => decisions().alertsCleared)
      mirror('cloudos_edge_alerts_suppressed_total', 'Incidents that opened within their rule\'s cooldown (no alert).', () => decisions().alertsSuppressedByCooldown)
      mirror('cloudos_edge_rule_action_failures_total', 'Rule actions that could not be published (RULES_ERR_ACTION_FAILED).', () => decisions().actionFailures)
      mirror('cloudos_edge_anomaly_readings_scored_total', 'Readings scored by the anomaly model.', () => decisions().readingsScored)
      mirror('cloudos_edge_anomaly_readings_skipped_total', 'Readings not scored because inference fell behind.', () => decisions().readingsSkipped)
      mirror('cloudos_edge_anomaly_run_failures_total', 'Model runs that failed (INFERENCE_ERR_RUN_FAILED).', () => decisions().inferenceRunFailures)
    }
    new Counter({
      name: 'cloudos_edge_readings_rejected_total',
      help: 'Readings rejected into the dead-letter table, by reason.',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset()
        for (const reason of REJECT_REASONS) this.inc({ reason }, sources.stats.rejectedByReason[reason])
      },
    })
    this.apiRequestsRefused = new Counter({
      name: 'cloudos_edge_api_requests_refused_total',
      help: 'Local API requests refused: API_ERR_UNAUTHORIZED (no or wrong bearer token), API_ERR_HOST_REFUSED (Host header not served: DNS rebinding).',
      labelNames: ['code'],
      registers: [registry],
    })
    const configCounters = sources.counters
    if (configCounters !== undefined) {
      new Counter({
        name: 'cloudos_edge_config_refused_total',
        help: 'Config edits and documents refused, by code (CONFIG_ERR_DEVICE_LOCAL_KEY: a document set a key only the device\'s own file may set).',
        labelNames: ['code'],
        registers: [registry],
        collect() {
          this.reset()
          for (const [key, value] of Object.entries(configCounters())) if (key.startsWith('config_refused.')) this.inc({ code: key.slice('config_refused.'.length) }, value)
        },
      })
    }
    this.commitDuration = new Histogram({
      name: 'cloudos_edge_commit_duration_seconds',
      help: 'Duration of one group commit (one SQLite transaction).',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    })
    new Gauge({
      name: 'cloudos_edge_ingest_queue_depth',
      help: 'Readings decoded and waiting for the next commit.',
      registers: [registry],
      collect() {
        this.set(sources.queueDepth())
      },
    })
    new Gauge({
      name: 'cloudos_edge_db_size_bytes',
      help: 'Bytes used by the edge database.',
      registers: [registry],
      collect() {
        this.set(sources.databaseSizeBytes())
      },
    })
    const counters = sources.counters
    if (counters !== undefined) {
      new Counter({
        name: 'cloudos_edge_readings_dropped_total',
        help: 'Readings deleted before the hub confirmed them (offline budget, age) or refused by the hub, by reason; reported to the hub with each upload.',
        labelNames: ['reason'],
        registers: [registry],
        collect() {
          this.reset()
          const all = counters()
          for (const reason of ['budget', 'age', 'refused']) this.inc({ reason }, all[`readings_dropped.${reason}`] ?? 0)
        },
      })
      new Counter({
        name: 'cloudos_edge_hub_identity_refusals_total',
        help: 'Hub endpoints refused because they could not prove the hub identity pinned at enrolment (EDGE_ERR_HUB_IDENTITY_MISMATCH): nothing was sent to them.',
        registers: [registry],
        collect() {
          this.reset()
          this.inc(counters()['hub_identity_refused'] ?? 0)
        },
      })
    }
    if (counters !== undefined) {
      // Lifetime counters under a prefix, one label value per suffix (e.g. hub_refused.EDGE_ERR_HUB_ID_INVALID).
      const byPrefix = (name: string, help: string, prefix: string, label: string) =>
        new Counter({
          name,
          help,
          labelNames: [label],
          registers: [registry],
          collect() {
            this.reset()
            for (const [key, value] of Object.entries(counters())) if (key.startsWith(prefix)) this.inc({ [label]: key.slice(prefix.length) }, value)
          },
        })
      byPrefix('cloudos_edge_hub_answers_refused_total', 'Hub answers refused before use (a field breaking the wire contract, a hostile identifier or path), by code.', 'hub_refused.', 'code')
      byPrefix('cloudos_edge_stream_epochs_started_total', 'New upload stream epochs, by reason (restored: the database is older than what the hub acknowledged; conflict: the hub holds other content for a seq; marker-missing).', 'stream_epoch.', 'reason')
    }
    const outbox = sources.outbox
    if (outbox !== undefined) {
      new Gauge({
        name: 'cloudos_edge_outbox_pending_readings',
        help: 'Readings in sealed batches waiting for the hub.',
        registers: [registry],
        collect() {
          this.set(outbox().pendingReadings)
        },
      })
      new Gauge({
        name: 'cloudos_edge_outbox_pending_bytes',
        help: 'Bytes of sealed batches waiting for the hub.',
        registers: [registry],
        collect() {
          this.set(outbox().pendingBytes)
        },
      })
    }
    const mqttDenials = sources.mqttDenials
    if (mqttDenials !== undefined) {
      new Counter({
        name: 'cloudos_edge_mqtt_denials_total',
        help: 'MQTT refusals by the embedded broker, by reason: CONNACK 2/4/5 (connect_*), publishes dropped, subscriptions answered 0x80, deliveries withheld by the ACL.',
        labelNames: ['reason'],
        registers: [registry],
        collect() {
          this.reset()
          for (const [reason, count] of Object.entries(mqttDenials())) this.inc({ reason }, count)
        },
      })
    }
    if (sources.brokerLimits !== undefined) registerBrokerLimitMetrics(registry, sources.brokerLimits)
    new Gauge({
      name: 'cloudos_edge_mqtt_clients_connected',
      help: 'Clients connected to the embedded broker.',
      registers: [registry],
      collect() {
        const n = sources.connectedClients()
        if (n !== null) this.set(n)
      },
    })
  }
}
