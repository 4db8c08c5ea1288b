/**
 * The broker's limits, as named in /metrics (`limit` label) and /healthz.
 * `degrades` says whether a hit makes /healthz "degraded": refusals of
 * hostile or broken clients do; adjustments and ordinary departures (a
 * sensor whose network died misses its keep-alive) are only counted.
 */
export const BROKER_LIMITS = {
  connections: { degrades: true },
  connect_rate: { degrades: true },
  connect_timeout: { degrades: true },
  packet_size: { degrades: true },
  retained_size: { degrades: true },
  retained_count: { degrades: true },
  subscriptions: { degrades: true },
  queued_messages: { degrades: true },
  queued_bytes: { degrades: true },
  keepalive_clamped: { degrades: false },
  keepalive_timeout: { degrades: false },
} as const satisfies Record<string, { degrades: boolean }>

export type BrokerLimitName = keyof typeof BROKER_LIMITS
export const BROKER_LIMIT_NAMES = Object.keys(BROKER_LIMITS) as BrokerLimitName[]

/** How long a hit keeps /healthz degraded. */
export const DEGRADED_WINDOW_MS = 60_000

export interface LimitHitsOptions {
  now?: () => number
  /** Called for the first hit of a limit in each window, so an attack cannot flood the log. */
  log?: (limit: BrokerLimitName, detail: string, hitsInWindow: number) => void
}

/** Counts every hit of every limit and remembers when each was last hit. */
export class LimitHits {
  readonly #now: () => number
  readonly #log: LimitHitsOptions['log']
  readonly #counts = new Map<BrokerLimitName, number>(BROKER_LIMIT_NAMES.map((name) => [name, 0]))
  readonly #lastHitAt = new Map<BrokerLimitName, number>()
  readonly #loggedAt = new Map<BrokerLimitName, { at: number; hits: number }>()

  constructor(options: LimitHitsOptions = {}) {
    this.#now = options.now ?? Date.now
    this.#log = options.log
  }

  record(limit: BrokerLimitName, detail: string, count = 1): void {
    const now = this.#now()
    this.#counts.set(limit, (this.#counts.get(limit) ?? 0) + count)
    this.#lastHitAt.set(limit, now)
    const logged = this.#loggedAt.get(limit)
    if (logged === undefined || now - logged.at >= DEGRADED_WINDOW_MS) {
      this.#loggedAt.set(limit, { at: now, hits: count })
      this.#log?.(limit, detail, logged?.hits ?? 0)
    } else {
      logged.hits += count
    }
  }

  /** Lifetime hits per limit (every limit present). */
  counts(): Record<BrokerLimitName, number> {
    return Object.fromEntries(this.#counts) as Record<BrokerLimitName, number>
  }

  /** Limits hit within the last `windowMs` that degrade health, sorted. */
  degradingRecently(windowMs = DEGRADED_WINDOW_MS): BrokerLimitName[] {
    const since = this.#now() - windowMs
    return BROKER_LIMIT_NAMES.filter((name) => BROKER_LIMITS[name].degrades && (this.#lastHitAt.get(name) ?? -Infinity) >= since)
  }
}
