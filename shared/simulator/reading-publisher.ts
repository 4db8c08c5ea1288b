import type { SeriesKey, TelemetryReading } from '../telemetry.js'
import { InFlightWindow } from './in-flight-window.js'
import type { TelemetryTransport } from './telemetry-transport.js'

/** A series and the topic its readings go to. */
export interface PublishTarget extends SeriesKey {
  topic: string
}

export interface PublishCounters {
  messagesPublished: number
  readingsPublished: number
  /** QoS 1: PUBACK received; QoS 0: written to the socket. */
  messagesAcked: number
  readingsAcked: number
  messagesFailed: number
  readingsFailed: number
  lastPublishError: string | undefined
}

export interface ReadingPublisherOptions {
  qos: 0 | 1
  maxInFlight: number
  /** Sees every message handed to the transport (the demo and tests use it). */
  onPublish?: (target: PublishTarget, readings: readonly TelemetryReading[]) => void
}

/** The wire form of the telemetry contract: one reading alone, several as a batch. */
export function telemetryPayload(readings: readonly TelemetryReading[]): string {
  if (readings.length === 1) {
    const only = readings[0] as TelemetryReading
    return JSON.stringify({ ts: only.ts, value: only.value })
  }
  return JSON.stringify({ readings: readings.map(({ ts, value }) => ({ ts, value })) })
}

/** Publishes readings within the in-flight bound and counts what happens to them. */
export class ReadingPublisher {
  readonly #transport: TelemetryTransport
  readonly #options: ReadingPublisherOptions
  readonly #window: InFlightWindow
  readonly #counters: PublishCounters = {
    messagesPublished: 0,
    readingsPublished: 0,
    messagesAcked: 0,
    readingsAcked: 0,
    messagesFailed: 0,
    readingsFailed: 0,
    lastPublishError: undefined,
  }

  constructor(transport: TelemetryTransport, options: ReadingPublisherOptions) {
    this.#transport = transport
    this.#options = options
    this.#window = new InFlightWindow(options.maxInFlight)
  }

  get hasRoom(): boolean {
    return this.#window.hasRoom
  }

  get inFlight(): number {
    return this.#window.size
  }

  whenRoom(): Promise<void> {
    return this.#window.whenRoom()
  }

  /** Hands one message to the transport without waiting; check `hasRoom` first. */
  publish(target: PublishTarget, readings: readonly TelemetryReading[]): void {
    const count = readings.length
    const counters = this.#counters
    this.#window.take()
    counters.messagesPublished++
    counters.readingsPublished += count
    this.#options.onPublish?.(target, readings)
    this.#transport.publish(target.topic, telemetryPayload(readings), this.#options.qos).then(
      () => {
        counters.messagesAcked++
        counters.readingsAcked += count
        this.#window.release()
      },
      (err: Error) => {
        counters.messagesFailed++
        counters.readingsFailed += count
        counters.lastPublishError = err.message
        this.#window.release()
      },
    )
  }

  /** Waits until every message is acknowledged or failed; false if `timeoutMs` passed first. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    try {
      return await Promise.race([this.#window.whenEmpty().then(() => true as const), timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  counters(): PublishCounters {
    return { ...this.#counters }
  }
}
