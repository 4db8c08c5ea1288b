import type { AuditLog } from './audit-log.js'

/** What failed to authenticate: a signed device request, an enrolment, an admin login. */
export type AuthFailureKind = 'device' | 'enrolment' | 'login'

export interface AuthFailure {
  kind: AuthFailureKind
  /** The client address (request.ip, which honours http.trustProxy). */
  source: string
  /** The error code answered (HUB_ERR_*), or the login failure reason. */
  code: string
  /** The id the caller claimed (device id, username, enrolment token id), if any: attacker-chosen, stored truncated. */
  claimedId?: string
}

/** Where the hub's request handling reports a failed authentication (routes and services depend on this only). */
export interface AuthFailureRecorder {
  record(failure: AuthFailure): void
}

/** The `details` of an `auth.failures` audit entry (cloud/compliance reads this shape: keep it stable). */
export interface AuthFailureSummaryDetails {
  source: string
  kind: AuthFailureKind
  count: number
  /** ISO 8601; the window is [windowStart, windowEnd). */
  windowStart: string
  windowEnd: string
  /** Failures by code within this source's count. */
  codes: Record<string, number>
  /** Up to MAX_SAMPLE_IDS distinct claimed ids, each cut to MAX_ID_CHARS. */
  sampleIds: string[]
}

/** The source under which failures from sources beyond `maxSourcesPerWindow` are counted. */
export const OTHER_SOURCES = '(other)'
export const MAX_ID_CHARS = 64
const MAX_SAMPLE_IDS = 5

interface Bucket {
  kind: AuthFailureKind
  source: string
  count: number
  codes: Map<string, number>
  sampleIds: Set<string>
}

export interface AuthFailureSummaryOptions {
  audit: AuditLog
  clock: () => number
  windowMs: number
  /** Distinct (kind, source) buckets per window: the memory bound. */
  maxSourcesPerWindow: number
  /** Called for every failure (the metric), before any summarising. */
  onFailure?: (failure: AuthFailure) => void
  /** Called for every summary entry written. */
  onSummary?: (details: AuthFailureSummaryDetails) => void
}

const truncate = (text: string) => (text.length > MAX_ID_CHARS ? `${text.slice(0, MAX_ID_CHARS - 1)}…` : text)

/**
 * Failed authentications summarised in the audit log: one `auth.failures`
 * entry per (kind, source) per window with a count, never one entry per
 * failure. Each audit entry is a signed, fsynced row in a table that refuses
 * DELETE, so a row per unauthenticated request let anyone grow it without
 * bound (2,000 bad requests with 5 KB ids were 2,000 rows of ~15 KB each).
 * Memory is bounded too: at most `maxSourcesPerWindow` buckets per window
 * (later sources share the `(other)` bucket), codes are a closed set, claimed
 * ids are sampled and truncated. Windows are aligned to the clock
 * (floor(now / window)), written when they end, and the open one when the hub stops.
 */
export class AuthFailureSummary implements AuthFailureRecorder {
  private readonly windows = new Map<number, Map<string, Bucket>>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<number> = Promise.resolve(0)

  constructor(private readonly options: AuthFailureSummaryOptions) {}

  record(failure: AuthFailure): void {
    this.options.onFailure?.(failure)
    const windowStart = Math.floor(this.options.clock() / this.options.windowMs) * this.options.windowMs
    let buckets = this.windows.get(windowStart)
    if (buckets === undefined) {
      buckets = new Map()
      this.windows.set(windowStart, buckets)
    }
    const source = truncate(failure.source)
    let bucket = buckets.get(`${failure.kind}\n${source}`)
    if (bucket === undefined) {
      const bucketSource = buckets.size >= this.options.maxSourcesPerWindow ? OTHER_SOURCES : source
      const key = `${failure.kind}\n${bucketSource}`
      bucket = buckets.get(key) ?? { kind: failure.kind, source: bucketSource, count: 0, codes: new Map(), sampleIds: new Set() }
      buckets.set(key, bucket)
    }
    bucket.count++
    bucket.codes.set(failure.code, (bucket.codes.get(failure.code) ?? 0) + 1)
    if (failure.claimedId !== undefined && bucket.sampleIds.size < MAX_SAMPLE_IDS) bucket.sampleIds.add(truncate(failure.claimedId))
  }

  /** (kind, source) buckets held, all open windows together: what the memory bound applies to. */
  get trackedBuckets(): number {
    let count = 0
    for (const buckets of this.windows.values()) count += buckets.size
    return count
  }

  /** Failures counted but not yet written (all open windows). */
  get pending(): number {
    let count = 0
    for (const buckets of this.windows.values()) for (const bucket of buckets.values()) count += bucket.count
    return count
  }

  /** Writes the summaries of every window that has ended at `now`; returns how many entries were written. */
  flushDue(now = this.options.clock()): Promise<number> {
    return this.serialised(() => this.write((windowStart) => windowStart + this.options.windowMs <= now))
  }

  /** Writes every window, the open one included (on close). */
  flushAll(): Promise<number> {
    return this.serialised(() => this.write(() => true))
  }

  /** Checks for ended windows every few seconds (at most one window apart). */
  start(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => void this.flushDue().catch(() => undefined), Math.min(5000, this.options.windowMs))
    this.timer.unref()
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.flushAll()
  }

  private serialised(run: () => Promise<number>): Promise<number> {
    this.flushing = this.flushing.then(run, run)
    return this.flushing
  }

  private async write(due: (windowStart: number) => boolean): Promise<number> {
    let written = 0
    for (const windowStart of [...this.windows.keys()].sort((a, b) => a - b)) {
      if (!due(windowStart)) continue
      const buckets = this.windows.get(windowStart) as Map<string, Bucket>
      // Taken out first: failures recorded while the entries are written land in a fresh map.
      this.windows.delete(windowStart)
      for (const bucket of buckets.values()) {
        const details: AuthFailureSummaryDetails = {
          source: bucket.source,
          kind: bucket.kind,
          count: bucket.count,
          windowStart: new Date(windowStart).toISOString(),
          windowEnd: new Date(windowStart + this.options.windowMs).toISOString(),
          codes: Object.fromEntries(bucket.codes),
          sampleIds: [...bucket.sampleIds],
        }
        await this.options.audit.record('auth.failures', 'anonymous', bucket.source, { ...details })
        this.options.onSummary?.(details)
        written++
      }
    }
    return written
  }
}
