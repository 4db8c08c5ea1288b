import { alertTopic } from '../../shared/telemetry.js'
import { silentLogger, type Logger } from '../../shared/log/logger.js'
import type { AlertStore } from '../store/alert-store.js'
import type { ConditionKind } from '../../shared/rules/compiled-rule.js'
import type { AlertSeverity } from '../../shared/protocol/alerts.js'
import type { RuleEvent } from './rules-engine.js'

/**
 * The JSON published on `alerts/<sensorId>/<metric>` when a rule's incident
 * starts (`state: "raised"`) and when it ends (`state: "cleared"`, same `seq`).
 * Documented in README.md ("Local rules and alerts").
 */
export interface AlertMessage {
  state: 'raised' | 'cleared'
  /** The stored alert's sequence number (as in GET /v1/alerts and at the hub); null if it could not be stored. */
  seq: number | null
  rule: string
  condition: ConditionKind
  severity: AlertSeverity
  sensorId: string
  metric: string
  /** The latest reading's value (null if the series never sent one). */
  value: number | null
  /** What the rule compared: the value, the rate per second, the anomaly score, or the seconds without data. */
  observed: number
  /** The trigger level (raised) or the clear level (cleared). */
  threshold: number
  /** The timestamp of the reading that raised or cleared it (epoch ms), or the check time for missing data. */
  ts: number
  /** When the edge decided (epoch ms). */
  at: number
  message: string
}

export interface AlertDispatcherStats {
  alertsPublished: number
  clearsPublished: number
  publishFailures: number
  storeFailures: number
  actionsPublished: number
  actionFailures: number
}

export interface AlertDispatcherOptions {
  alerts: AlertStore
  /** Publishes through the broker to local subscribers (the embedded broker routes it at once). */
  publish: (topic: string, payload: string, options: { qos: 0 | 1; retain: boolean }) => Promise<void>
  log?: Logger
  now?: () => number
}

/**
 * Acts on the rules engine's decisions, locally and at once: stores the alert
 * (the hub link forwards it when the hub is reachable), publishes it on
 * `alerts/<sensorId>/<metric>`, and publishes the rule's command, if any. A
 * failure of one step (disk full, broker closing) is logged and counted and
 * does not stop the others; nothing here throws into the ingest path.
 */
export class AlertDispatcher {
  readonly stats: AlertDispatcherStats = { alertsPublished: 0, clearsPublished: 0, publishFailures: 0, storeFailures: 0, actionsPublished: 0, actionFailures: 0 }
  readonly #options: AlertDispatcherOptions
  readonly #log: Logger
  readonly #now: () => number
  /** Open incidents' alert seqs, to mark them cleared. */
  readonly #openSeqs = new Map<string, number>()

  constructor(options: AlertDispatcherOptions) {
    this.#options = options
    this.#log = options.log ?? silentLogger
    this.#now = options.now ?? Date.now
  }

  readonly handle = (event: RuleEvent): void => {
    const at = this.#now()
    const incident = `${event.rule}\u0000${event.sensorId}/${event.metric}\u0000${event.kind}`
    let seq: number | null = null
    if (event.state === 'raised') {
      try {
        seq = this.#options.alerts.raise({
          sensorId: event.sensorId,
          metric: event.metric,
          severity: event.severity,
          rule: event.rule,
          value: Number.isFinite(event.value) ? event.value : event.observed,
          message: event.message.slice(0, 1000),
          raisedAt: at,
        }).seq
        this.#openSeqs.set(incident, seq)
      } catch (err) {
        this.stats.storeFailures++
        this.#log.error('storing an alert failed; it is still published', { rule: event.rule, error: (err as Error).message })
      }
    } else {
      seq = this.#openSeqs.get(incident) ?? null
      this.#openSeqs.delete(incident)
      if (seq !== null) {
        try {
          this.#options.alerts.clear(seq, at)
        } catch (err) {
          this.stats.storeFailures++
          this.#log.error('marking an alert cleared failed', { seq, error: (err as Error).message })
        }
      }
    }
    const message: AlertMessage = {
      state: event.state,
      seq,
      rule: event.rule,
      condition: event.kind,
      severity: event.severity,
      sensorId: event.sensorId,
      metric: event.metric,
      value: Number.isFinite(event.value) ? event.value : null,
      observed: event.observed,
      threshold: event.threshold,
      ts: event.ts,
      at,
      message: event.message,
    }
    this.#options.publish(alertTopic(event.sensorId, event.metric), JSON.stringify(message), { qos: 0, retain: false }).then(
      () => (event.state === 'raised' ? this.stats.alertsPublished++ : this.stats.clearsPublished++),
      (err: Error) => {
        this.stats.publishFailures++
        this.#log.warn('publishing an alert failed', { rule: event.rule, error: err.message })
      },
    )
    const action = event.state === 'raised' ? event.action : undefined
    if (action !== undefined) {
      this.#options.publish(action.topic, action.payload, { qos: action.qos, retain: action.retain }).then(
        () => this.stats.actionsPublished++,
        (err: Error) => {
          this.stats.actionFailures++
          this.#log.error('a rule action failed', { code: 'RULES_ERR_ACTION_FAILED', rule: event.rule, topic: action.topic, error: err.message })
        },
      )
    }
  }
}
