import type { ConnectionStats, TelemetryTransport } from './telemetry-transport.js'

export interface RecordedMessage {
  topic: string
  payload: string
  qos: 0 | 1
}

/**
 * A transport that records what it is given, for tests and dry runs. Acks
 * are immediate unless `holdAcks` is set, in which case `releaseAcks` sends
 * them: that is how tests watch the in-flight bound at work.
 */
export class MemoryTransport implements TelemetryTransport {
  readonly destination = 'memory'
  readonly messages: RecordedMessage[] = []
  holdAcks: boolean
  #held: Array<() => void> = []
  #closed = false

  constructor(options: { holdAcks?: boolean } = {}) {
    this.holdAcks = options.holdAcks ?? false
  }

  get heldAcks(): number {
    return this.#held.length
  }

  get closed(): boolean {
    return this.#closed
  }

  publish(topic: string, payload: string, qos: 0 | 1): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('transport is closed'))
    this.messages.push({ topic, payload, qos })
    if (!this.holdAcks) return Promise.resolve()
    return new Promise((resolve) => this.#held.push(resolve))
  }

  /** Acknowledges up to `count` held messages (all by default), oldest first. */
  releaseAcks(count = Infinity): void {
    const released = this.#held.splice(0, Math.min(count, this.#held.length))
    for (const ack of released) ack()
  }

  connection(): ConnectionStats {
    return { connected: !this.#closed, disconnects: 0, reconnects: 0, lastError: undefined }
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}
