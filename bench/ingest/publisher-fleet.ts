import type { ChildProcess } from 'node:child_process'
import type { QoS } from 'mqtt-packet'
import { exitChild, forkBenchModule, sendToChild, waitForMessage } from '../processes/child-ipc.js'
import type { ChildReaper } from '../processes/child-reaper.js'
import type { FromPublisher, PublisherJob } from './ingest-ipc.js'
import type { PublishOutcome } from './raw-mqtt-publisher.js'
import type { PublisherSecurity } from './secure-listener.js'
import { DEFAULT_READING_INTERVAL_MS, firstTimestampFor, sensorCountFor, sensorsOfPublisher } from './telemetry-workload.js'

export interface PublisherFleetOptions {
  publishers: number
  host: string
  port: number
  qos: QoS
  /** Readings over all publishers; rounded down to whole messages. */
  readings: number
  readingsPerMessage: number
  inflightWindow: number
  reaper: ChildReaper
  /** How long publishers may take to encode their messages and connect. */
  readyTimeoutMs?: number
  /** Publish through the secure listener. */
  security?: PublisherSecurity
}

export interface FleetOutcome {
  /** The first publisher's first write (bench clock). */
  startedAt: number
  /** The last publisher's last write. */
  writtenAt: number
  /** The last publisher's completion (all written for QoS 0, all acknowledged for QoS 1). */
  finishedAt: number
  messages: number
  readings: number
  publishers: PublishOutcome[]
}

/**
 * The publisher processes of one run: forked, given their share of the
 * workload, and started together once every one has encoded its messages and
 * connected, so the clock runs only while messages flow.
 */
export class PublisherFleet {
  readonly #children: ChildProcess[]
  readonly #readingsPerMessage: number
  readonly messages: number
  #finished = false

  private constructor(children: ChildProcess[], messages: number, readingsPerMessage: number) {
    this.#children = children
    this.messages = messages
    this.#readingsPerMessage = readingsPerMessage
  }

  get readings(): number {
    return this.messages * this.#readingsPerMessage
  }

  /** True once every publisher has reported its outcome. */
  get finished(): boolean {
    return this.#finished
  }

  static async start(options: PublisherFleetOptions): Promise<PublisherFleet> {
    const totalMessages = Math.floor(options.readings / options.readingsPerMessage)
    const shares = splitEvenly(totalMessages, options.publishers)
    const sensorCount = sensorCountFor(options.publishers)
    const readingsPerSensor = Math.max(
      ...shares.map((share, p) => Math.ceil(share / sensorsOfPublisher(p, options.publishers, sensorCount).length) * options.readingsPerMessage),
    )
    const firstTs = firstTimestampFor(Date.now(), readingsPerSensor, DEFAULT_READING_INTERVAL_MS)
    const runTag = `${process.pid}-${Date.now().toString(36)}`
    const children: ChildProcess[] = []
    const fleet = new PublisherFleet(children, totalMessages, options.readingsPerMessage)
    try {
      for (let p = 0; p < options.publishers; p++) children.push(forkBenchModule(new URL('./publisher-main.js', import.meta.url), options.reaper))
      await Promise.all(
        children.map((child, p) => {
          const job: PublisherJob = {
            host: options.host,
            port: options.port,
            clientId: `bench-pub-${runTag}-${p}`,
            qos: options.qos,
            inflightWindow: options.inflightWindow,
            ...(options.security === undefined ? {} : { security: options.security }),
            workload: {
              publisherIndex: p,
              publisherCount: options.publishers,
              messages: shares[p] as number,
              readingsPerMessage: options.readingsPerMessage,
              sensorCount,
              firstTs,
              intervalMs: DEFAULT_READING_INTERVAL_MS,
            },
          }
          const ready = waitForMessage<FromPublisher, Extract<FromPublisher, { type: 'ready' }>>(
            child,
            (m): m is Extract<FromPublisher, { type: 'ready' }> => m.type === 'ready',
            `publisher ${p}`,
            options.readyTimeoutMs ?? 60_000,
          )
          sendToChild(child, { type: 'job', job })
          return ready
        }),
      )
    } catch (err) {
      await fleet.close()
      throw err
    }
    return fleet
  }

  /** Starts every publisher; resolves when all have finished. */
  async go(timeoutMs: number): Promise<FleetOutcome> {
    const outcomes = this.#children.map((child, p) =>
      waitForMessage<FromPublisher, Extract<FromPublisher, { type: 'done' }>>(
        child,
        (m): m is Extract<FromPublisher, { type: 'done' }> => m.type === 'done',
        `publisher ${p}`,
        timeoutMs,
      ),
    )
    for (const child of this.#children) sendToChild(child, { type: 'go' })
    try {
      const done = (await Promise.all(outcomes)).map((m) => m.outcome)
      return {
        startedAt: Math.min(...done.map((o) => o.startedAt)),
        writtenAt: Math.max(...done.map((o) => o.writtenAt)),
        finishedAt: Math.max(...done.map((o) => o.finishedAt)),
        messages: this.messages,
        readings: this.readings,
        publishers: done,
      }
    } finally {
      this.#finished = true
    }
  }

  pids(): number[] {
    return this.#children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined)
  }

  /** Disconnects and ends every publisher process. */
  async close(): Promise<void> {
    await Promise.all(this.#children.map((child) => exitChild(child)))
  }
}

function splitEvenly(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))
}
