import { telemetryTopic, type TelemetryReading } from '../telemetry.js'
import { openTransport } from './mqtt-transport.js'
import { ReadingPublisher, type PublishTarget } from './reading-publisher.js'
import { readReplayCsv } from './replay-csv.js'
import {
  DEFAULT_REPLAY_PACING,
  replayDueOffsets,
  sensorIdFromFileName,
  timestampShiftMs,
  timestampWindowWarnings,
  type ReplayPacing,
} from './replay-timing.js'
import { startRun, type FinishReason, type RunControl, type SimulatorHandle } from './simulation-run.js'
import { checkReplayOptions, PUBLISH_DEFAULTS, type ReplayOptions } from './simulator-options.js'

const ROWS_BETWEEN_YIELDS = 1000

interface ReplayPlan {
  rows: readonly TelemetryReading[]
  dueOffsets: Float64Array
  shiftMs: number
  startedAt: number
  readingsPerMessage: number
  durationMs: number
  target: PublishTarget
  publisher: ReadingPublisher
}

/**
 * Replays a `timestamp,value` CSV file in file order. The whole file is read
 * and checked before connecting, so a bad line fails fast (SIM_ERR_CSV_FORMAT
 * naming file and line) and nothing of a bad file is published.
 */
export async function replayCsv(options: ReplayOptions): Promise<SimulatorHandle> {
  checkReplayOptions(options)
  const allRows = await readReplayCsv(options.file)
  const rows = options.maxReadings === undefined ? allRows : allRows.slice(0, options.maxReadings)
  const sensorId = options.sensorId ?? sensorIdFromFileName(options.file)
  const metric = options.metric ?? 'value'
  const pacing = options.pacing ?? DEFAULT_REPLAY_PACING
  const mode = options.timestamps ?? 'shift'
  const qos = options.qos ?? PUBLISH_DEFAULTS.qos
  const { transport, owned } = await openTransport(options)
  const publisher = new ReadingPublisher(transport, {
    qos,
    maxInFlight: options.maxInFlight ?? PUBLISH_DEFAULTS.maxInFlight,
    onPublish: options.onPublish,
  })
  const startedAt = Date.now()
  // Shifted against the whole file, so `maxReadings` sends a prefix with the same timestamps a full replay would.
  const shiftMs = timestampShiftMs(allRows, mode, startedAt)
  const plan: ReplayPlan = {
    rows,
    dueOffsets: replayDueOffsets(rows, pacing),
    shiftMs,
    startedAt,
    readingsPerMessage: options.readingsPerMessage ?? PUBLISH_DEFAULTS.readingsPerMessage,
    durationMs: options.durationMs ?? Infinity,
    target: { sensorId, metric, topic: telemetryTopic(sensorId, metric) },
    publisher,
  }
  const firstTs = new Date((rows[0] as TelemetryReading).ts).toISOString()
  const lastTs = new Date((rows[rows.length - 1] as TelemetryReading).ts).toISOString()
  return startRun({
    description:
      `replaying ${options.file} (${rows.length} rows, ${firstTs}..${lastTs}) as ${plan.target.topic} ` +
      `to ${transport.destination} ${describePacing(pacing)}, timestamps ${describeShift(mode, shiftMs)}, QoS ${qos}`,
    startedAt,
    warnings: timestampWindowWarnings(rows, shiftMs, startedAt),
    transport,
    ownsTransport: owned,
    publisher,
    drainTimeoutMs: options.drainTimeoutMs ?? PUBLISH_DEFAULTS.drainTimeoutMs,
    produce: (control) => produceRows(control, plan),
  })
}

async function produceRows(control: RunControl, plan: ReplayPlan): Promise<FinishReason> {
  const { rows, publisher } = plan
  const endAt = plan.startedAt + plan.durationMs
  let next = 0
  let sinceYield = 0
  while (next < rows.length) {
    if (control.stopped) return 'stopped'
    const end = Math.min(next + plan.readingsPerMessage, rows.length)
    // A batch goes out when its last row is due.
    const due = plan.startedAt + (plan.dueOffsets[end - 1] as number)
    const now = Date.now()
    if (now >= endAt) return 'duration'
    if (due > now) {
      await control.sleepUntil(Math.min(due, endAt))
      continue
    }
    if (!publisher.hasRoom) {
      await control.waitForRoom()
      continue
    }
    const readings: TelemetryReading[] = []
    for (let i = next; i < end; i++) {
      const row = rows[i] as TelemetryReading
      readings.push({ ts: row.ts + plan.shiftMs, value: row.value })
    }
    publisher.publish(plan.target, readings)
    next = end
    if (++sinceYield >= ROWS_BETWEEN_YIELDS) {
      sinceYield = 0
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return 'end-of-data'
}

function describePacing(pacing: ReplayPacing): string {
  return pacing.kind === 'speed' ? `at ${pacing.speed}x the original speed` : `at ${pacing.rowsPerSecond} rows/s`
}

function describeShift(mode: 'shift' | 'original', shiftMs: number): string {
  if (mode === 'original') return 'as in the file'
  return `shifted by ${(shiftMs / 86_400_000).toFixed(1)} days (last row = now)`
}
