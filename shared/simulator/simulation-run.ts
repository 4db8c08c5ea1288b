import type { AnomalyKind } from './anomaly-injector.js'
import type { PublishCounters, ReadingPublisher } from './reading-publisher.js'
import type { TelemetryTransport } from './telemetry-transport.js'

/** Why a run ended: its reading count or duration was reached, its data ran out, `stop()`, or a failure. */
export type FinishReason = 'count' | 'duration' | 'end-of-data' | 'stopped' | 'error'

export interface SimulatorStats extends PublishCounters {
  startedAt: number
  elapsedMs: number
  /** Readings published per second since the start. */
  readingsPerSecond: number
  /** Messages published and not yet acknowledged nor failed. */
  messagesInFlight: number
  connected: boolean
  disconnects: number
  reconnects: number
  lastConnectionError: string | undefined
  /** Anomalies started, by kind (generated mode; zeros in replay mode). */
  anomalies: Record<AnomalyKind, number>
  /** Readings not sent because their sensor was in a simulated dropout. */
  readingsDroppedByDropout: number
  /** Undefined while running. */
  finished: FinishReason | undefined
  error: string | undefined
}

/** A running simulator or replay. */
export interface SimulatorHandle {
  /** One line: what is published where. */
  readonly description: string
  /** Things the user should know before trusting the run (e.g. rows the edge will reject). */
  readonly warnings: readonly string[]
  stats(): SimulatorStats
  /** Settles when the run has ended and its connection is closed; never rejects. */
  readonly done: Promise<SimulatorStats>
  /** Stops producing, waits (bounded) for acknowledgements, disconnects. Idempotent. */
  stop(): Promise<SimulatorStats>
}

/** What a producing loop may do: sleep, wait for flow control, and notice `stop()`. */
export interface RunControl {
  readonly stopped: boolean
  /** Resolves at `epochMs`, or at once when stopped. */
  sleepUntil(epochMs: number): Promise<void>
  /** Resolves when the in-flight window has room, or at once when stopped. */
  waitForRoom(): Promise<void>
}

export interface RunOptions {
  description: string
  /** Default: now. A replay passes the instant its timestamps were shifted against. */
  startedAt?: number
  warnings?: string[]
  transport: TelemetryTransport
  /** Close the transport at the end (false when the caller passed its own). */
  ownsTransport: boolean
  publisher: ReadingPublisher
  drainTimeoutMs: number
  anomalyStats?: () => Pick<SimulatorStats, 'anomalies' | 'readingsDroppedByDropout'>
  produce: (control: RunControl) => Promise<FinishReason>
}

const NO_ANOMALIES = (): Pick<SimulatorStats, 'anomalies' | 'readingsDroppedByDropout'> => ({
  anomalies: { spike: 0, stuck: 0, dropout: 0 },
  readingsDroppedByDropout: 0,
})

/** Starts `produce` and wraps it in the handle's lifecycle: stop, drain, disconnect, stats. */
export function startRun(options: RunOptions): SimulatorHandle {
  const { publisher, transport } = options
  const startedAt = options.startedAt ?? Date.now()
  let finished: FinishReason | undefined
  let error: string | undefined
  let stopped = false
  let endedAt: number | undefined
  const wakers = new Set<() => void>()

  const stats = (): SimulatorStats => {
    const elapsedMs = (endedAt ?? Date.now()) - startedAt
    const counters = publisher.counters()
    const connection = transport.connection()
    return {
      startedAt,
      elapsedMs,
      ...counters,
      readingsPerSecond: elapsedMs > 0 ? (counters.readingsPublished * 1000) / elapsedMs : 0,
      messagesInFlight: publisher.inFlight,
      connected: connection.connected,
      disconnects: connection.disconnects,
      reconnects: connection.reconnects,
      lastConnectionError: connection.lastError,
      ...(options.anomalyStats ?? NO_ANOMALIES)(),
      finished,
      error,
    }
  }

  const wakeable = (start: (wake: () => void) => () => void): Promise<void> => {
    if (stopped) return Promise.resolve()
    return new Promise((resolve) => {
      let cancel = () => {}
      const wake = () => {
        wakers.delete(wake)
        cancel()
        resolve()
      }
      wakers.add(wake)
      cancel = start(wake)
    })
  }

  const control: RunControl = {
    get stopped() {
      return stopped
    },
    sleepUntil: (epochMs) => {
      const delay = epochMs - Date.now()
      if (delay <= 0) return Promise.resolve()
      return wakeable((wake) => {
        const timer = setTimeout(wake, delay)
        return () => clearTimeout(timer)
      })
    },
    waitForRoom: () => {
      if (publisher.hasRoom) return Promise.resolve()
      return wakeable((wake) => {
        void publisher.whenRoom().then(wake)
        return () => {}
      })
    },
  }

  const done = (async () => {
    try {
      finished = await options.produce(control)
    } catch (err) {
      finished = 'error'
      error = (err as Error).message
    }
    await publisher.drain(options.drainTimeoutMs)
    endedAt = Date.now()
    if (options.ownsTransport) await transport.close().catch(() => undefined)
    return stats()
  })()

  return {
    description: options.description,
    warnings: options.warnings ?? [],
    stats,
    done,
    stop() {
      if (!stopped) {
        stopped = true
        for (const wake of [...wakers]) wake()
      }
      return done
    },
  }
}
