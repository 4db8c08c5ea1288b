import type { ChildProcess } from 'node:child_process'
import type { QoS } from 'mqtt-packet'
import { exitChild, forkBenchModule, sendToChild, waitForMessage } from '../processes/child-ipc.js'
import type { ChildReaper } from '../processes/child-reaper.js'
import type { ReportedCommitSource } from './commit-progress.js'
import type { FromSubscriber, SubscriberJob } from './ingest-ipc.js'

export interface BaselineSubscriberOptions {
  brokerUrl: string
  qos: QoS
  dbFile: string
  reaper: ChildReaper
  /** Receives the subscriber's committed count after each transaction. */
  progress: ReportedCommitSource
  flushRows?: number
  flushIntervalMs?: number
}

/** Rows per transaction and the longest wait before a commit: typical hand-tuned choices. */
export const BASELINE_FLUSH_ROWS = 10_000
export const BASELINE_FLUSH_INTERVAL_MS = 50

/** The baseline subscriber process (see baseline-subscriber-main.ts), seen from the orchestrator. */
export class BaselineSubscriber {
  readonly #child: ChildProcess
  #error: string | undefined
  #stopping = false

  private constructor(child: ChildProcess) {
    this.#child = child
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The first error the subscriber reported, or its unexpected exit. */
  get error(): string | undefined {
    return this.#error
  }

  /** Forks the subscriber and resolves once it is subscribed. */
  static async start(options: BaselineSubscriberOptions): Promise<BaselineSubscriber> {
    const child = forkBenchModule(new URL('./baseline-subscriber-main.js', import.meta.url), options.reaper)
    const subscriber = new BaselineSubscriber(child)
    child.on('message', (message: FromSubscriber) => {
      if (message.type === 'committed') options.progress.report(message.committed, message.at)
      else if (message.type === 'error') subscriber.#error ??= message.message
    })
    const job: SubscriberJob = {
      brokerUrl: options.brokerUrl,
      qos: options.qos,
      dbFile: options.dbFile,
      flushRows: options.flushRows ?? BASELINE_FLUSH_ROWS,
      flushIntervalMs: options.flushIntervalMs ?? BASELINE_FLUSH_INTERVAL_MS,
    }
    const ready = waitForMessage<FromSubscriber, Extract<FromSubscriber, { type: 'ready' }>>(
      child,
      (m): m is Extract<FromSubscriber, { type: 'ready' }> => m.type === 'ready',
      'baseline subscriber',
      15_000,
    )
    sendToChild(child, { type: 'job', job })
    try {
      await ready
    } catch (err) {
      await subscriber.stop()
      throw err
    }
    child.once('exit', (code, signal) => {
      if (!subscriber.#stopping) subscriber.#error ??= `baseline subscriber exited (${signal ?? `code ${String(code)}`})`
    })
    return subscriber
  }

  async stop(): Promise<void> {
    this.#stopping = true
    await exitChild(this.#child)
  }
}
