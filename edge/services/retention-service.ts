import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { CountersStore } from '../store/counters-store.js'
import type { DeadLetterStore } from '../store/dead-letter-store.js'
import { RetentionJob, type RetentionResult } from '../store/retention.js'
import type { ScoreStore } from '../store/score-store.js'
import type { EdgeService } from './edge-service.js'

const DAY_MS = 86_400_000

export interface RetentionServiceOptions {
  db: SqliteDatabase
  counters: CountersStore
  deadLetters: DeadLetterStore
  scores: ScoreStore
  /** The config in effect now: each run reads the policy then, not at start-up. */
  config: () => EdgeConfig
  log: Logger
}

/**
 * The one retention job of the edge, on the `storage.retentionSchedule` cron
 * schedule: readings by age and byte budget, then the anomaly scores of the
 * same age. Owns `storage` (the schedule; the policy is read on every run).
 * Stopped before the database closes, and never rescheduled after that.
 */
export class RetentionService implements EdgeService {
  readonly name = 'retention'
  readonly sections = ['storage'] as const
  readonly #job: RetentionJob
  readonly #options: RetentionServiceOptions
  #stopped = false

  constructor(options: RetentionServiceOptions) {
    this.#options = options
    this.#job = new RetentionJob(options.db, options.counters, options.deadLetters)
  }

  start(): void {
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    this.#job.stop()
  }

  reconfigure(_next: EdgeConfig, changed: readonly string[]): void {
    if (changed.includes('storage.retentionSchedule')) this.#schedule()
  }

  #schedule(): void {
    if (this.#stopped) return
    const { config, log } = this.#options
    this.#job.schedule(
      config().storage.retentionSchedule,
      () => config().storage,
      (err) => log.error('retention failed', { error: err.message }),
      (result) => this.#afterRun(result),
    )
  }

  #afterRun(result: RetentionResult): void {
    const { config, scores, log } = this.#options
    try {
      const days = config().storage.retentionDays
      scores.prune(days > 0 ? Date.now() - days * DAY_MS : undefined)
    } catch (err) {
      log.error('retention of anomaly scores failed', { error: (err as Error).message })
    }
    const deleted = result.readingsDeletedByAge + result.readingsDeletedByBudget
    if (deleted > 0) log.info('retention deleted old readings', { byAge: result.readingsDeletedByAge, byBudget: result.readingsDeletedByBudget })
  }
}
