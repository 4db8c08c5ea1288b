import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { ReadingsStore } from '../../edge/store/readings-store.js'
import { ScoreStore } from '../../edge/store/score-store.js'
import type { Logger } from '../../shared/log/logger.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { waitFor } from '../helpers/wait.js'

const DAY = 24 * 3600_000
/** node-cron's 6-field form: every second, so a scheduled run happens within the test. */
const EVERY_SECOND = '* * * * * *'
/** Once a year: never fires during a test. */
const YEARLY = '0 0 1 1 *'

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = []
  return { errors, info() {}, warn() {}, error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields ?? {})}`) }
}

function scoreChunks(dataDir: string): number[] {
  const db = new Database(join(dataDir, 'edge.db'), { readonly: true })
  try {
    return (db.prepare('SELECT ts_max FROM anomaly_score_chunks ORDER BY ts_max').all() as { ts_max: number }[]).map((r) => r.ts_max)
  } finally {
    db.close()
  }
}

// The runtime's retention job, scheduled with node-cron: one job per edge,
// stopped with the edge, and rescheduled live with the same work (readings
// and anomaly scores).
describe('the running edge\'s retention schedule', () => {
  let edge: TestEdge | undefined
  afterEach(async () => {
    await edge?.stop()
    edge = undefined
  })

  it('no retention job fires after stop (the database is closed by then)', async () => {
    const logger = recordingLogger()
    edge = await startTestEdge({ logger, config: { storage: { retentionSchedule: EVERY_SECOND, retentionDays: 2 } } })
    await edge.stop()
    // Two and a half scheduled ticks: a job left behind would run on the closed database and report it.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(logger.errors.filter((e) => e.includes('retention'))).toEqual([])
  })

  it('a live storage.retentionSchedule change keeps pruning anomaly scores older than retentionDays', async () => {
    const logger = recordingLogger()
    edge = await startTestEdge({ logger, config: { storage: { retentionSchedule: YEARLY, retentionDays: 2 } } })
    // Scores written beside the edge's own connection (WAL: both see the same file).
    const side = openEdgeDatabase({ dataDir: edge.dataDir, synchronous: 'normal' })
    const now = Date.now()
    try {
      new ScoreStore(side, new ReadingsStore(side)).write(
        [
          { sensorId: 'old', metric: 'temp', timestamps: [now - 5 * DAY], scores: [0.9] },
          { sensorId: 'recent', metric: 'temp', timestamps: [now - 1000], scores: [0.1] },
        ],
        'test-model',
      )
    } finally {
      side.close()
    }
    expect(scoreChunks(edge.dataDir)).toHaveLength(2)
    const result = edge.runtime.applyConfig({ ...edge.runtime.config, storage: { ...edge.runtime.config.storage, retentionSchedule: EVERY_SECOND } })
    expect(result.applied).toEqual(['storage.retentionSchedule'])
    await waitFor(() => scoreChunks(edge!.dataDir).length === 1, { timeoutMs: 5000, what: 'the rescheduled retention to prune the old score' })
    expect(scoreChunks(edge.dataDir)).toEqual([now - 1000])
    expect(logger.errors).toEqual([])
  })
})
