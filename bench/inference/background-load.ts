import type { ChildProcess } from 'node:child_process'
import { exitChild, forkBenchModule, sendToChild, waitForMessage } from '../processes/child-ipc.js'
import type { ChildReaper } from '../processes/child-reaper.js'

/** What the background-load process is asked to do. */
export interface BackgroundLoadJob {
  host: string
  port: number
  readingsPerSecond: number
  sensors: number
}

/** Orchestrator -> load process. */
export type ToBackgroundLoad = { type: 'job'; job: BackgroundLoadJob } | { type: 'go' } | { type: 'stop' } | { type: 'exit' }

/** Load process -> orchestrator. */
export type FromBackgroundLoad =
  | { type: 'ready' }
  | { type: 'stopped'; sent: number; seconds: number }
  | { type: 'error'; message: string }

/**
 * A separate process publishing single readings at a steady rate (QoS 0,
 * `sensors/load-<n>/value`, round robin) over its own MQTT connection, as
 * the edge's everyday ingest while the benchmark probes its decisions.
 */
export class BackgroundLoad {
  readonly #child: ChildProcess

  private constructor(child: ChildProcess) {
    this.#child = child
  }

  static async start(job: BackgroundLoadJob, reaper: ChildReaper): Promise<BackgroundLoad> {
    const child = forkBenchModule(new URL('./background-load-main.js', import.meta.url), reaper)
    const load = new BackgroundLoad(child)
    try {
      const ready = waitForMessage<FromBackgroundLoad, Extract<FromBackgroundLoad, { type: 'ready' }>>(
        child,
        (m): m is Extract<FromBackgroundLoad, { type: 'ready' }> => m.type === 'ready',
        'background load',
        30_000,
      )
      sendToChild(child, { type: 'job', job } satisfies ToBackgroundLoad)
      await ready
    } catch (err) {
      await load.close()
      throw err
    }
    return load
  }

  go(): void {
    sendToChild(this.#child, { type: 'go' } satisfies ToBackgroundLoad)
  }

  /** Stops publishing; resolves with what was sent and the achieved rate. */
  async stop(): Promise<{ sent: number; readingsPerSecond: number }> {
    const stopped = waitForMessage<FromBackgroundLoad, Extract<FromBackgroundLoad, { type: 'stopped' }>>(
      this.#child,
      (m): m is Extract<FromBackgroundLoad, { type: 'stopped' }> => m.type === 'stopped',
      'background load',
      30_000,
    )
    sendToChild(this.#child, { type: 'stop' } satisfies ToBackgroundLoad)
    const { sent, seconds } = await stopped
    return { sent, readingsPerSecond: seconds > 0 ? Math.round(sent / seconds) : 0 }
  }

  close(): Promise<void> {
    return exitChild(this.#child)
  }
}
