import { afterEach, describe, expect, it, vi } from 'vitest'
import { IngestPipeline, type BatchWriter, type CommitBatch } from '../../edge/ingest/ingest-pipeline.js'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { waitFor } from '../helpers/wait.js'

const NOW = 1_780_000_000_000

/** An in-memory BatchWriter that records commits and can be told to fail. */
class RecordingWriter implements BatchWriter {
  readonly batches: CommitBatch[] = []
  failNext = 0
  write(batch: CommitBatch): void {
    if (this.failNext > 0) {
      this.failNext--
      throw new Error('disk I/O error')
    }
    // Copy: the pipeline hands over its arrays.
    this.batches.push({
      series: batch.series.map((s) => ({ key: { ...s.key }, timestamps: [...s.timestamps], values: [...s.values] })),
      deadLetters: batch.deadLetters.map((d) => ({ ...d, payload: Buffer.from(d.payload) })),
      readingCount: batch.readingCount,
      rejectedByReason: { ...batch.rejectedByReason },
    })
  }
}

function makePipeline(storage: Partial<{ commitIntervalMs: number; maxBatchReadings: number; queueHighWaterMark: number }> = {}, onCommitError?: (err: Error) => void) {
  const config = loadEdgeConfig(undefined)
  const writer = new RecordingWriter()
  const pipeline = new IngestPipeline({
    writer,
    ingest: config.ingest,
    storage: { commitIntervalMs: 1000, maxBatchReadings: 1_000_000, queueHighWaterMark: 1_000_000, ...storage },
    now: () => NOW,
    ...(onCommitError ? { onCommitError } : {}),
  })
  return { pipeline, writer }
}

/** An ack callback that records whether and how it was called. */
function ack() {
  const state: { called: number; error: Error | null | undefined } = { called: 0, error: undefined }
  const done = (err?: Error | null) => {
    state.called++
    state.error = err
  }
  return { state, done }
}

const reading = (ts: number, value: number) => Buffer.from(JSON.stringify({ ts, value }))

describe('IngestPipeline', () => {
  it('acknowledges QoS 0 at once and QoS 1 only after the commit that holds the reading', () => {
    const { pipeline, writer } = makePipeline()
    const q0 = ack()
    const q1 = ack()
    pipeline.accept('sensors/a/t', reading(NOW, 1), 0, q0.done)
    pipeline.accept('sensors/a/t', reading(NOW, 2), 1, q1.done)
    expect(q0.state).toEqual({ called: 1, error: null })
    expect(q1.state.called).toBe(0)
    expect(writer.batches).toHaveLength(0)
    expect(pipeline.queueDepth).toBe(2)
    expect(pipeline.flush()).toBe(true)
    expect(writer.batches).toHaveLength(1)
    expect(q1.state).toEqual({ called: 1, error: null })
    expect(pipeline.queueDepth).toBe(0)
    pipeline.close()
  })

  it('groups many messages of many series into one commit, per series in arrival order', () => {
    const { pipeline, writer } = makePipeline()
    for (let i = 0; i < 300; i++) pipeline.accept(`sensors/s${i % 3}/m`, reading(NOW - i, i), 1, () => undefined)
    pipeline.flush()
    expect(writer.batches).toHaveLength(1)
    const batch = writer.batches[0] as CommitBatch
    expect(batch.readingCount).toBe(300)
    expect(batch.series.map((s) => s.key)).toEqual([
      { sensorId: 's0', metric: 'm' },
      { sensorId: 's1', metric: 'm' },
      { sensorId: 's2', metric: 'm' },
    ])
    expect(batch.series[1]?.values.slice(0, 3)).toEqual([1, 4, 7])
    expect(batch.series[1]?.timestamps.slice(0, 2)).toEqual([NOW - 1, NOW - 4])
    expect(pipeline.stats).toMatchObject({ messagesReceived: 300, readingsReceived: 300, readingsStored: 300, commits: 1 })
    pipeline.close()
  })

  // The two timing tests drive the clock with fake timers: they check what
  // waits for what, never how long something took on this machine.
  afterEach(() => {
    vi.useRealTimers()
  })

  it('commits on its own after commitIntervalMs', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] })
    const { pipeline, writer } = makePipeline({ commitIntervalMs: 50 })
    pipeline.accept('sensors/a/t', reading(NOW, 0), 1, () => undefined)
    vi.advanceTimersByTime(0)
    expect(writer.batches).toHaveLength(1) // the first commit does not wait
    const second = ack()
    pipeline.accept('sensors/a/t', reading(NOW, 1), 1, second.done)
    vi.advanceTimersByTime(30)
    expect(second.state.called).toBe(0) // still inside the 50 ms interval
    vi.advanceTimersByTime(25)
    expect(second.state.called).toBe(1)
    expect(writer.batches).toHaveLength(2)
    pipeline.close()
  })

  it('commits at once when maxBatchReadings wait, without waiting out commitIntervalMs', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] })
    const sized = makePipeline({ commitIntervalMs: 1000, maxBatchReadings: 3 })
    sized.pipeline.accept('sensors/a/t', reading(NOW, 0), 1, () => undefined)
    vi.advanceTimersByTime(0)
    expect(sized.writer.batches).toHaveLength(1)
    const acks = [ack(), ack(), ack()]
    acks.forEach((a, i) => sized.pipeline.accept('sensors/a/t', reading(NOW, i), 1, a.done))
    // maxBatchReadings (3) readings wait: the next turn commits them, long before the 1000 ms interval.
    vi.advanceTimersByTime(1)
    expect(acks.map((a) => a.state.called)).toEqual([1, 1, 1])
    expect(sized.writer.batches).toHaveLength(2)
    sized.pipeline.close()
  })

  it('dead-letters unknown topics and bad payloads with their reason, and counts them', () => {
    const { pipeline, writer } = makePipeline()
    const done = ack()
    pipeline.accept('sensors/a', reading(NOW, 1), 1, done.done)
    pipeline.accept('sensors/a/t', Buffer.from('{"readings":[{"value":"x"},{"value":2},{"value":"y"}]}'), 1, () => undefined)
    pipeline.flush()
    const batch = writer.batches[0] as CommitBatch
    expect(batch.deadLetters.map((d) => [d.topic, d.reason])).toEqual([
      ['sensors/a', 'unknown_topic'],
      ['sensors/a/t', 'invalid_value'],
    ])
    expect(batch.deadLetters[1]?.payload.toString()).toContain('"x"')
    expect(batch.rejectedByReason).toEqual({ unknown_topic: 1, invalid_value: 2 })
    expect(batch.readingCount).toBe(1)
    expect(done.state).toEqual({ called: 1, error: null })
    expect(pipeline.stats).toMatchObject({ messagesReceived: 2, readingsReceived: 4, readingsStored: 1, readingsRejected: 3 })
    expect(pipeline.stats.rejectedByReason).toMatchObject({ unknown_topic: 1, invalid_value: 2, malformed_json: 0 })
    pipeline.close()
  })

  it('keeps everything and holds the acks when a commit fails, then retries', async () => {
    const errors: Error[] = []
    const { pipeline, writer } = makePipeline({}, (err) => errors.push(err))
    writer.failNext = 1
    const q1 = ack()
    pipeline.accept('sensors/a/t', reading(NOW, 1), 1, q1.done)
    expect(pipeline.flush()).toBe(false)
    expect(errors.map((e) => e.message)).toEqual(['disk I/O error'])
    expect(q1.state.called).toBe(0)
    expect(pipeline.queueDepth).toBe(1)
    expect(pipeline.stats.commitFailures).toBe(1)
    // The pipeline retries on its own (after about a second).
    await waitFor(() => q1.state.called === 1, { timeoutMs: 3000, what: 'the retried commit' })
    expect(q1.state.error).toBeNull()
    expect(writer.batches).toHaveLength(1)
    expect(writer.batches[0]?.readingCount).toBe(1)
    pipeline.close()
  })

  it('holds QoS 0 acks above the queue high-water mark (backpressure) until a commit', () => {
    const { pipeline } = makePipeline({ queueHighWaterMark: 3 })
    const acks = [ack(), ack(), ack(), ack()]
    acks.forEach((a, i) => pipeline.accept('sensors/a/t', reading(NOW, i), 0, a.done))
    expect(acks.map((a) => a.state.called)).toEqual([1, 1, 0, 0])
    pipeline.flush()
    expect(acks.map((a) => a.state.called)).toEqual([1, 1, 1, 1])
    pipeline.close()
  })

  it('close() commits what waits and refuses later messages', () => {
    const { pipeline, writer } = makePipeline()
    const q1 = ack()
    pipeline.accept('sensors/a/t', reading(NOW, 1), 1, q1.done)
    expect(pipeline.close()).toBe(true)
    expect(writer.batches).toHaveLength(1)
    expect(q1.state).toEqual({ called: 1, error: null })
    const late = ack()
    pipeline.accept('sensors/a/t', reading(NOW, 2), 1, late.done)
    expect(late.state.called).toBe(1)
    expect(late.state.error).toBeInstanceOf(Error)
    expect(writer.batches).toHaveLength(1)
  })

  it('close() with a failing store releases the waiting acks with an error, so publishers re-send', () => {
    const { pipeline, writer } = makePipeline({}, () => undefined)
    writer.failNext = 1
    const q1 = ack()
    pipeline.accept('sensors/a/t', reading(NOW, 1), 1, q1.done)
    expect(pipeline.close()).toBe(false)
    expect(q1.state.called).toBe(1)
    expect(q1.state.error).toBeInstanceOf(Error)
  })
})
