import { describe, expect, it } from 'vitest'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { integrityCheck, openDbFile, readAllReadings, readCounters, countReadings } from '../helpers/edge-db.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt, publishWindowed } from '../helpers/mqtt-client.js'
import { ReadingSequence } from '../helpers/sequence.js'
import { useTempDir } from '../helpers/temp-dir.js'

interface CrashCase {
  name: string
  messages: number
  readingsPerMessage: number
  /** kill -9 once this many messages have been acknowledged. */
  killAfterAcks: number
}

const cases: CrashCase[] = [
  { name: 'early, single readings', messages: 20_000, readingsPerMessage: 1, killAfterAcks: 300 },
  { name: 'mid-stream, single readings', messages: 20_000, readingsPerMessage: 1, killAfterAcks: 6_000 },
  { name: 'mid-stream, batches of 25', messages: 4_000, readingsPerMessage: 25, killAfterAcks: 1_500 },
]

/**
 * The durability promise: a QoS 1 PUBACK is sent only after the reading is
 * committed, so whatever was acknowledged survives `kill -9` of the edge
 * process, and the database is never corrupt.
 */
describe('crash test: kill -9 of the edge process mid-stream at QoS 1', () => {
  it.each(cases)('$name: every acknowledged reading is in the database after the crash, and it is intact', async (c) => {
    const dataDir = useTempDir('cloudos-crash-')
    const edgeLog: string[] = []
    let edge: EdgeChild | undefined = await spawnEdge({ dataDir, onLog: (line) => edgeLog.push(line) })
    const sequence = new ReadingSequence('crash', 8, c.readingsPerMessage)
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    const acked = new Set<number>()
    let ackedAtKill = -1
    try {
      const victim = edge
      const publishing = publishWindowed(client, sequence.messages(c.messages), { qos: 1, window: 1000 }, (i) => {
        acked.add(i)
        if (acked.size === c.killAfterAcks) {
          ackedAtKill = acked.size
          victim.child.kill('SIGKILL')
        }
      })
      // Diagnose a stalled stream instead of waiting out the test timeout.
      let watchdog: NodeJS.Timeout | undefined
      const exitCode = await Promise.race([
        victim.exited,
        new Promise<never>((_, reject) => {
          watchdog = setTimeout(() => {
            const state = { acked: acked.size, clientConnected: client.connected, edgeExit: victim.child.exitCode, edgeLog: edgeLog.slice(-10) }
            reject(new Error(`the stream stalled before ${c.killAfterAcks} acknowledgements: ${JSON.stringify(state)}`))
          }, 30_000)
        }),
      ]).finally(() => clearTimeout(watchdog))
      expect(victim.child.signalCode).toBe('SIGKILL')
      expect(exitCode).toBeNull()
      await closeQuietly(client)
      const outcome = await publishing
      // The kill really interrupted the stream.
      expect(ackedAtKill).toBe(c.killAfterAcks)
      expect(acked.size).toBeLessThan(c.messages)
      expect(outcome.failed).toBeGreaterThan(0)

      // 1. The file as the crash left it: intact, and holding every acknowledged reading.
      const db = openDbFile(dataDir)
      let storedMessages: Set<number>
      let storedReadings: number
      try {
        expect(integrityCheck(db)).toBe('ok')
        expect(db.pragma('foreign_key_check')).toEqual([])
        const stored = readAllReadings(db)
        ;({ messages: storedMessages, readings: storedReadings } = sequence.messagesIn(stored))
        const missing = [...acked].filter((i) => !storedMessages.has(i))
        expect(missing, `${missing.length} acknowledged messages are missing`).toEqual([])
        // Whole messages only: a message is stored with all its readings or not at all.
        expect(storedReadings).toBe(storedMessages.size * c.readingsPerMessage)
        // Counters are committed with the data they count.
        expect(readCounters(db).readings_stored).toBe(countReadings(stored))
      } finally {
        db.close()
      }

      // 2. The edge restarts on the same data dir and serves what survived.
      edge = await spawnEdge({ dataDir })
      const stats = await getStats(edge.endpoints.httpUrl)
      expect(stats.lifetime.readings_stored).toBe(storedReadings)
      const sensors = await getJson<{ sensors: { sensorId: string; readingCount: number }[] }>(edge.endpoints.httpUrl, '/v1/sensors')
      expect(sensors.body.sensors.reduce((n, s) => n + s.readingCount, 0)).toBe(storedReadings)
      const sample = await getJson<ReadingsBody>(edge.endpoints.httpUrl, `/v1/readings?sensor=crash-0&metric=seq&limit=100000`)
      expect(sample.body.readings.map((r) => r.value)).toEqual([...sample.body.readings.map((r) => r.value)].sort((a, b) => a - b))
      // And keeps ingesting.
      const after = await connectMqtt(edge.endpoints.mqttUrl)
      try {
        await after.publishAsync('sensors/after-crash/temp', JSON.stringify({ value: 1 }), { qos: 1 })
      } finally {
        await closeQuietly(after)
      }
      expect((await getStats(edge.endpoints.httpUrl)).stored).toBe(1)
      expect(await edge.stop()).toBe(0)
      edge = undefined
    } finally {
      await closeQuietly(client)
      await edge?.kill()
    }
  })
})
