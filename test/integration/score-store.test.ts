import { afterEach, describe, expect, it } from 'vitest'
import { CommitWriter } from '../../edge/store/commit-writer.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { DeadLetterStore } from '../../edge/store/dead-letter-store.js'
import { ReadingsStore } from '../../edge/store/readings-store.js'
import { RetentionJob } from '../../edge/store/retention.js'
import { ScoreStore } from '../../edge/store/score-store.js'
import { useTempDir } from '../helpers/temp-dir.js'

const DAY = 24 * 3600_000
const NOW = Date.UTC(2026, 5, 1)

/** Anomaly scores in a real SQLite file (migration 4): written in chunks, read by timestamp, pruned with their readings. */
describe('ScoreStore', () => {
  let db: SqliteDatabase | undefined
  afterEach(() => {
    db?.close()
    db = undefined
  })

  function open() {
    db = openEdgeDatabase({ dataDir: useTempDir(), synchronous: 'normal' })
    const readings = new ReadingsStore(db)
    const deadLetters = new DeadLetterStore(db)
    const counters = new CountersStore(db)
    return {
      readings,
      scores: new ScoreStore(db, readings),
      writer: new CommitWriter({ db, readings, deadLetters, counters }),
      retention: new RetentionJob(db, counters, deadLetters, () => NOW),
    }
  }
  const commit = (writer: CommitWriter, sensorId: string, timestamps: number[]) =>
    writer.write({ series: [{ key: { sensorId, metric: 'm' }, timestamps, values: timestamps.map(() => 1) }], deadLetters: [], readingCount: timestamps.length, rejectedByReason: {} })

  it('returns scores by reading timestamp within a range, across chunks, the latest for a repeated ts', () => {
    const { scores } = open()
    scores.write([{ sensorId: 's', metric: 'm', timestamps: [3, 1, 2], scores: [0.3, 0.1, 0.2] }], 'model-a')
    scores.write([{ sensorId: 's', metric: 'm', timestamps: [4, 2], scores: [0.4, 0.25] }, { sensorId: 'other', metric: 'm', timestamps: [2], scores: [0.9] }], 'model-a')
    expect([...scores.scoresBetween('s', 'm', 2, 4).entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [2, 0.25],
      [3, 0.3],
      [4, 0.4],
    ])
    expect(scores.scoresBetween('nobody', 'm', 0, 10).size).toBe(0)
  })

  it('is pruned by age and with the readings retention deleted', () => {
    const { scores, writer, retention } = open()
    commit(writer, 'old', [NOW - 40 * DAY, NOW - 40 * DAY + 1])
    commit(writer, 'keep', [NOW - DAY])
    scores.write(
      [
        { sensorId: 'old', metric: 'm', timestamps: [NOW - 40 * DAY, NOW - 40 * DAY + 1], scores: [0.1, 0.2] },
        { sensorId: 'keep', metric: 'm', timestamps: [NOW - DAY], scores: [0.5] },
      ],
      'model-a',
    )
    retention.run({ retentionDays: 30, maxBytes: 1 << 30, deadLetterMaxRows: 10 })
    expect(scores.prune(NOW - 30 * DAY)).toBe(1)
    expect(scores.scoresBetween('old', 'm', 0, NOW).size).toBe(0)
    expect(scores.scoresBetween('keep', 'm', 0, NOW).get(NOW - DAY)).toBe(0.5)
    // Without an age limit, scores older than the oldest readings left of their series go (byte-budget retention).
    commit(writer, 'budget', [NOW - 2 * DAY])
    scores.write([{ sensorId: 'budget', metric: 'm', timestamps: [NOW - 5 * DAY], scores: [0.7] }, { sensorId: 'budget', metric: 'm', timestamps: [NOW - 2 * DAY], scores: [0.8] }], 'model-a')
    expect(scores.prune(undefined)).toBe(1)
    expect([...scores.scoresBetween('budget', 'm', 0, NOW).values()]).toEqual([0.8])
  })
})
