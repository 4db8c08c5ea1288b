import type { TelemetryReading } from '../telemetry.js'

/**
 * When each replayed row is sent and with which timestamp. Pure functions of
 * the rows, so pacing and rebasing are tested without a clock or a broker.
 */

/** `speed`: keep the file's spacing divided by `speed`; `rate`: fixed rows per second. */
export type ReplayPacing = { kind: 'speed'; speed: number } | { kind: 'rate'; rowsPerSecond: number }

/** `shift`: rebase so the latest row lands at the replay start; `original`: as in the file. */
export type ReplayTimestamps = 'shift' | 'original'

export const DEFAULT_REPLAY_PACING: ReplayPacing = { kind: 'rate', rowsPerSecond: 100 }

/**
 * Milliseconds after the start at which each row is due. With `speed`, a row
 * whose timestamp goes backwards (out-of-order file) is due at once rather
 * than earlier than its predecessor: rows always go out in file order.
 */
export function replayDueOffsets(rows: readonly TelemetryReading[], pacing: ReplayPacing): Float64Array {
  const offsets = new Float64Array(rows.length)
  if (pacing.kind === 'rate') {
    const spacing = 1000 / pacing.rowsPerSecond
    for (let i = 0; i < rows.length; i++) offsets[i] = i * spacing
    return offsets
  }
  const first = rows[0]?.ts ?? 0
  let latest = first
  for (let i = 0; i < rows.length; i++) {
    latest = Math.max(latest, (rows[i] as TelemetryReading).ts)
    offsets[i] = (latest - first) / pacing.speed
  }
  return offsets
}

/**
 * The amount added to every timestamp. `shift` moves the latest row (the last
 * one in a sorted file) to `startedAt`, so the whole series lies in the past
 * with its spacing kept: the edge rejects readings stamped over an hour ahead
 * of its clock (ingest.maxFutureSkewMs).
 */
export function timestampShiftMs(rows: readonly TelemetryReading[], mode: ReplayTimestamps, startedAt: number): number {
  if (mode === 'original' || rows.length === 0) return 0
  let latest = -Infinity
  for (const row of rows) latest = Math.max(latest, row.ts)
  return startedAt - latest
}

/** The edge's default acceptance window (ingest.maxPastAgeMs, ingest.maxFutureSkewMs). */
export const EDGE_DEFAULT_TIMESTAMP_WINDOW = { maxPastAgeMs: 90 * 24 * 3_600_000, maxFutureSkewMs: 3_600_000 } as const

/**
 * Warnings for rows a default edge would reject (too old, too far ahead),
 * so a replay that will be dead-lettered says so before it starts.
 */
export function timestampWindowWarnings(
  rows: readonly TelemetryReading[],
  shiftMs: number,
  now: number,
  window: { maxPastAgeMs: number; maxFutureSkewMs: number } = EDGE_DEFAULT_TIMESTAMP_WINDOW,
): string[] {
  let tooOld = 0
  let tooNew = 0
  for (const row of rows) {
    const ts = row.ts + shiftMs
    if (ts < now - window.maxPastAgeMs) tooOld++
    else if (ts > now + window.maxFutureSkewMs) tooNew++
  }
  const warnings: string[] = []
  const days = Math.round(window.maxPastAgeMs / 86_400_000)
  if (tooOld > 0) warnings.push(`${tooOld} of ${rows.length} rows are older than ${days} days; an edge with default ingest.maxPastAgeMs rejects them (use --timestamps shift)`)
  if (tooNew > 0) warnings.push(`${tooNew} of ${rows.length} rows are more than an hour in the future; an edge with default ingest.maxFutureSkewMs rejects them`)
  return warnings
}

/** The default sensor id for a file: its base name without extension, in the id charset. */
export function sensorIdFromFileName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? ''
  const stem = base.replace(/\.[^.]*$/, '')
  const id = stem.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 64)
  return id === '' ? 'replay' : id
}
