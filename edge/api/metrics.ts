import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { REJECT_REASONS } from '../../shared/telemetry.js'
import type { IngestStats } from '../ingest/ingest-stats.js'

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
