import type { EdgeConfig, RulesConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import type { TelemetryBroker } from '../broker/telemetry-broker.js'
import type { ScoredInput } from '../inference/inference-loop.js'
import { AlertDispatcher } from '../rules/alert-dispatcher.js'
import { RulesEngine } from '../rules/rules-engine.js'
import type { AlertStore } from '../store/alert-store.js'
import type { EdgeService } from './edge-service.js'

export interface RulesServiceOptions {
  rules: RulesConfig
  alerts: AlertStore
  /** Series known from earlier runs: missing-data rules watch them from the start. */
  knownSeries: readonly { sensorId: string; metric: string }[]
  /** The broker alerts are published to (undefined until it is built). */
  broker: () => TelemetryBroker | undefined
  log: Logger
}

/**
 * The rules engine (local critical decisions) and the dispatcher of its
 * alerts. Owns `rules`. Readings and scores reach the engine from the ingest
 * and inference services; this service runs the missing-data checks on their
 * timer and takes rule changes live.
 */
export class RulesService implements EdgeService {
  readonly name = 'rules'
  readonly sections = ['rules'] as const
  readonly engine: RulesEngine
  readonly dispatcher: AlertDispatcher
  readonly #log: Logger
  #missingTimer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: RulesServiceOptions) {
    this.#log = options.log
    this.dispatcher = new AlertDispatcher({
      alerts: options.alerts,
      publish: (topic, payload, publishOptions) => {
        const broker = options.broker()
        return broker === undefined ? Promise.reject(new Error('broker is not started')) : broker.publish(topic, payload, publishOptions)
      },
      log: options.log,
    })
    this.engine = new RulesEngine({ rules: options.rules, onEvent: this.dispatcher.handle })
    for (const series of options.knownSeries) this.engine.knowSeries(series.sensorId, series.metric)
  }

  /** Value and rate rules on a reading as it is accepted (before the group commit): an alert leaves within the same event-loop turn. */
  onReading(seriesKey: string, sensorId: string, metric: string, ts: number, value: number): void {
    try {
      this.engine.onReading(seriesKey, sensorId, metric, ts, value)
    } catch (err) {
      this.#log.error('rule evaluation failed', { error: (err as Error).message })
    }
  }

  /** Score rules on a scored batch from the inference loop. */
  onScores(inputs: readonly ScoredInput[], scores: Float64Array): void {
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!
      this.engine.onScore(input.seriesKey, input.sensorId, input.metric, input.ts, scores[i] as number)
    }
  }

  start(): void {
    this.#scheduleMissingChecks()
  }

  stop(): void {
    this.#stopped = true
    this.#scheduleMissingChecks()
  }

  /** Takes a new `rules` section: throws RULES_ERR_INVALID and keeps the running rules if one is inconsistent. */
  update(rules: RulesConfig): void {
    this.engine.update(rules)
    this.#scheduleMissingChecks()
  }

  reconfigure(next: EdgeConfig): void {
    // Rules were checked with the merged config (shared/config/extra-checks.ts): update does not refuse them.
    this.update(next.rules)
  }

  #scheduleMissingChecks(): void {
    if (this.#missingTimer !== undefined) clearInterval(this.#missingTimer)
    this.#missingTimer = undefined
    const interval = this.engine.missingCheckIntervalMs()
    if (interval === undefined || this.#stopped) return
    this.#missingTimer = setInterval(() => this.engine.checkMissing(), interval)
    this.#missingTimer.unref()
  }
}
