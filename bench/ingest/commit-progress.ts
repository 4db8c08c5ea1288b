import { Agent, get } from 'node:http'
import { benchNow, sleep } from '../measure/bench-clock.js'

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
 * up to one poll interval plus a round trip more than it took. Plain
 * node:http on a kept-alive connection: polled 50 times a second, fetch()
 * cost the orchestrator several % of a core on this 2-core machine.
 */
export class EdgeStatsSource implements CommitProgressSource {
  readonly #url: string
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 })

  constructor(httpUrl: string) {
    this.#url = `${httpUrl}/v1/stats`
  }

  sample(): Promise<CommitSample> {
    return new Promise((resolve, reject) => {
      const request = get(this.#url, { agent: this.#agent }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', reject)
        response.on('end', () => {
          const at = benchNow()
          if (response.statusCode !== 200) {
            reject(new Error(`GET ${this.#url} answered ${String(response.statusCode)}`))
            return
          }
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stored?: unknown }
            if (typeof body.stored !== 'number') throw new Error('no numeric "stored"')
            resolve({ committed: body.stored, at })
          } catch (err) {
            reject(new Error(`GET ${this.#url}: ${(err as Error).message}`))
          }
        })
      })
      request.setTimeout(5_000, () => request.destroy(new Error(`GET ${this.#url} timed out`)))
      request.on('error', reject)
    })
  }

  /** Closes the kept-alive connection. */
  close(): void {
    this.#agent.destroy()
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
