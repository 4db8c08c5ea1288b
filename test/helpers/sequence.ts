import type { StoredReadingRow } from './edge-db.js'

/**
 * A numbered stream of distinct readings spread over a few series: message i
 * goes to `sensors/<prefix>-<i % series>/seq` and carries ts = base + i,
 * value = i (batches: readings i*size .. i*size+size-1). Every stored reading
 * can then be traced back to the message that carried it.
 */
export class ReadingSequence {
  readonly base: number
  constructor(
    readonly prefix: string,
    readonly series: number,
    readonly readingsPerMessage = 1,
    base = Date.now() - 3600_000,
  ) {
    this.base = base
  }

  topic(message: number): string {
    return `sensors/${this.prefix}-${message % this.series}/seq`
  }

  seriesKey(message: number): string {
    return `${this.prefix}-${message % this.series}/seq`
  }

  /** The reading numbers message `i` carries. */
  readingsOf(message: number): number[] {
    return Array.from({ length: this.readingsPerMessage }, (_, k) => message * this.readingsPerMessage + k)
  }

  payload(message: number): string {
    const numbers = this.readingsOf(message)
    if (this.readingsPerMessage === 1) return JSON.stringify({ ts: this.base + message, value: message })
    return JSON.stringify({ readings: numbers.map((n) => ({ ts: this.base + n, value: n })) })
  }

  messages(count: number): { topic: string; payload: string }[] {
    return Array.from({ length: count }, (_, i) => ({ topic: this.topic(i), payload: this.payload(i) }))
  }

  /**
   * Maps stored readings back to message numbers; throws on a reading this
   * sequence never sent, one in the wrong series, or a duplicate.
   */
  messagesIn(stored: Map<string, StoredReadingRow[]>): { messages: Set<number>; readings: number } {
    const seenReadings = new Set<number>()
    const messages = new Set<number>()
    for (const [key, rows] of stored) {
      if (!key.startsWith(`${this.prefix}-`)) continue
      for (const row of rows) {
        const n = row.ts - this.base
        const message = Math.floor(n / this.readingsPerMessage)
        if (!Number.isInteger(n) || n < 0 || row.value !== n) throw new Error(`stored reading ${JSON.stringify(row)} in ${key} was never sent`)
        if (this.seriesKey(message) !== key) throw new Error(`reading ${n} stored in ${key}, sent to ${this.seriesKey(message)}`)
        if (seenReadings.has(n)) throw new Error(`reading ${n} stored twice`)
        seenReadings.add(n)
        messages.add(message)
      }
    }
    return { messages, readings: seenReadings.size }
  }
}
