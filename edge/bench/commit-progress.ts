import { benchNow, sleep } from './bench-clock.js'

/** How many readings a system has committed to SQLite, and when that was observed (bench clock). */
export interface CommitSample {
  committed: number
  at: number
}

/** Where a run reads its system's committed count from. */
export interface CommitProgressSource {
  sample(): Promise<CommitSample>
}

/**
 * The edge's count, from `GET /v1/stats` (`stored`: readings committed since
 * the process started). `at` is when the answer arrived, so a run is charged
 * up to one poll interval plus a round trip more than it took.
 */
export class EdgeStatsSource implements CommitProgressSource {
  readonly #url: string

  constructor(httpUrl: string) {
    this.#url = `${httpUrl}/v1/stats`
  }

  async sample(): Promise<CommitSample> {
    const response = await fetch(this.#url)
    if (!response.ok) throw new Error(`GET ${this.#url} answered ${response.status}`)
    const body = (await response.json()) as { stored?: unknown }
    if (typeof body.stored !== 'number') throw new Error(`GET ${this.#url} has no numeric "stored"`)
    return { committed: body.stored, at: benchNow() }
  }
}

/** A count pushed by a process after each of its transactions (the baseline subscriber). */
export class ReportedCommitSource implements CommitProgressSource {
  #latest: CommitSample = { committed: 0, at: 0 }

  report(committed: number, at: number): void {
    if (committed >= this.#latest.committed) this.#latest = { committed, at }
  }

  async sample(): Promise<CommitSample> {
    return this.#latest
  }
}

export type CommitWaitEnd = 'complete' | 'timeout' | 'stalled' | 'failed'

export interface CommitWaitResult {
  end: CommitWaitEnd
  /** The last sample: readings committed, and when the count last grew. */
  committed: number
  committedAt: number
  error?: string
}

export interface CommitWaitOptions {
  expected: number
  /** Give up at this time (bench clock). */
  deadline: number
  pollIntervalMs: number
  /** Once publishing is over, give up when the count has not grown for this long. */
  stallMs: number
  publishingOver: () => boolean
  /** A failure elsewhere (a publisher) that ends the wait. */
  failure: () => string | undefined
}

/**
 * Polls until `expected` readings are committed, the deadline passes, the
 * count stops growing after publishing ended (a system that dropped
 * messages), or something failed. Never hangs.
 */
export async function waitForCommitted(source: CommitProgressSource, options: CommitWaitOptions): Promise<CommitWaitResult> {
  let last: CommitSample = { committed: 0, at: benchNow() }
  let lastGrowthAt = benchNow()
  let sampleError: string | undefined
  for (;;) {
    try {
      const sample = await source.sample()
      sampleError = undefined
      // Keep the sample at which the count last grew: that is when the work was done.
      if (sample.committed > last.committed) {
        lastGrowthAt = benchNow()
        last = sample
      }
    } catch (err) {
      sampleError = (err as Error).message
    }
    const result = (end: CommitWaitEnd, error?: string): CommitWaitResult => ({
      end,
      committed: last.committed,
      committedAt: last.at,
      ...(error === undefined ? {} : { error }),
    })
    if (last.committed >= options.expected) return result('complete')
    const failure = options.failure()
    if (failure !== undefined) return result('failed', failure)
    const now = benchNow()
    if (now >= options.deadline) return result('timeout', sampleError)
    if (options.publishingOver() && now - lastGrowthAt >= options.stallMs) return result('stalled', sampleError)
    await sleep(options.pollIntervalMs)
  }
}
