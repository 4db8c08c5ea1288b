import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { countReadings, integrityCheck, openDbFile, readAllReadings, readCounters } from '../helpers/edge-db.js'
import { getStats, type StatsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt, publishWindowed } from '../helpers/mqtt-client.js'
import { ReadingSequence } from '../helpers/sequence.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/** Reads the data dir after the edge exited: integrity, the sequence's stored messages, the counters. */
function inspect(dataDir: string, sequence: ReadingSequence) {
  const db = openDbFile(dataDir)
  try {
    const stored = readAllReadings(db)
    return { integrity: integrityCheck(db), ...sequence.messagesIn(stored), total: countReadings(stored), counters: readCounters(db) }
  } finally {
    db.close()
  }
}

describe('graceful shutdown of the edge process', () => {
  it('SIGTERM commits readings still waiting for their group commit, then exits 0', async () => {
    const dir = useTempDir('cloudos-sigterm-')
    const config = join(dir, 'edge.json')
    // The longest group-commit interval, so that the burst is still in memory when SIGTERM arrives.
    writeFileSync(config, JSON.stringify({ storage: { commitIntervalMs: 1000 } }))
    const edge = await spawnEdge({ dataDir: join(dir, 'data'), config })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      // The first commit happens at once; after it the interval applies.
      await client.publishAsync('sensors/warmup/temp', JSON.stringify({ value: 1 }), { qos: 1 })
      const burst = 2000
      const sequences: ReadingSequence[] = []
      let snapshot: StatsBody | undefined
      // Publish a QoS 0 burst and wait until the edge has received all of it. If the group commit
      // happened to run before we looked (a very slow machine), the burst is already stored and
      // proves nothing about shutdown: send another one.
      for (let round = 0; round < 5 && (snapshot === undefined || snapshot.queueDepth === 0); round++) {
        const sequence = new ReadingSequence(`term${round}`, 4)
        sequences.push(sequence)
        await publishWindowed(client, sequence.messages(burst), { qos: 0 })
        snapshot = await waitFor(
          async () => {
            const s = await getStats(edge.endpoints.httpUrl)
            return s.messagesReceived === 1 + burst * sequences.length ? s : undefined
          },
          { timeoutMs: 5000, intervalMs: 5, what: 'the edge to receive the burst' },
        )
      }
      edge.child.kill('SIGTERM')
      expect(await edge.exited).toBe(0)
      // Readings were received but not yet committed when SIGTERM was sent...
      expect(snapshot?.queueDepth).toBeGreaterThan(0)
      // ...and are all in the database after the exit.
      for (const sequence of sequences) {
        const after = inspect(join(dir, 'data'), sequence)
        expect(after.integrity).toBe('ok')
        expect(after.messages.size).toBe(burst)
      }
      expect(inspect(join(dir, 'data'), sequences[0] as ReadingSequence).counters.readings_stored).toBe(1 + burst * sequences.length)
    } finally {
      await closeQuietly(client)
      await edge.kill()
    }
  })

  it.each(['SIGTERM', 'SIGINT'] as const)('%s during a QoS 0 burst: exits 0, stores exactly the messages it received, in order', async (signal) => {
    const dataDir = useTempDir('cloudos-burst-')
    const edge = await spawnEdge({ dataDir })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    const sequence = new ReadingSequence('burst', 1)
    try {
      void publishWindowed(client, sequence.messages(30_000), { qos: 0 })
      // Signal as soon as the edge has started receiving, while the burst is still flowing.
      await waitFor(async () => (await getStats(edge.endpoints.httpUrl)).messagesReceived > 0, { timeoutMs: 10_000, intervalMs: 5 })
      edge.child.kill(signal)
      expect(await edge.exited).toBe(0)
    } finally {
      await closeQuietly(client)
      await edge.kill()
    }
    const after = inspect(dataDir, sequence)
    expect(after.integrity).toBe('ok')
    expect(after.messages.size).toBeGreaterThan(0)
    // One TCP connection delivers in order and every received message is committed at shutdown,
    // so what is stored is exactly a prefix of the stream: no message lost in the middle.
    expect(Math.max(...after.messages)).toBe(after.messages.size - 1)
    expect(after.counters.readings_stored).toBe(after.total)
  })

  it.each(['SIGTERM', 'SIGINT'] as const)('%s during a QoS 1 stream: exits 0 and every acknowledged reading is stored', async (signal) => {
    const dataDir = useTempDir('cloudos-qos1-')
    let edge: EdgeChild | undefined = await spawnEdge({ dataDir })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    const sequence = new ReadingSequence('stream', 4)
    const acked = new Set<number>()
    try {
      const target = edge
      const publishing = publishWindowed(client, sequence.messages(10_000), { qos: 1, window: 1000 }, (i) => {
        acked.add(i)
        if (acked.size === 2000) target.child.kill(signal)
      })
      expect(await target.exited).toBe(0)
      await closeQuietly(client)
      await publishing
      edge = undefined
    } finally {
      await closeQuietly(client)
      await edge?.kill()
    }
    expect(acked.size).toBeGreaterThanOrEqual(2000)
    expect(acked.size).toBeLessThan(10_000)
    const after = inspect(dataDir, sequence)
    expect(after.integrity).toBe('ok')
    expect([...acked].filter((i) => !after.messages.has(i))).toEqual([])
    expect(after.counters.readings_stored).toBe(after.total)
  })

  it('leaves no WAL behind after a clean stop (checkpointed)', async () => {
    const dataDir = useTempDir('cloudos-wal-')
    const edge = await spawnEdge({ dataDir })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      await client.publishAsync('sensors/wal/temp', JSON.stringify({ value: 1 }), { qos: 1 })
    } finally {
      await closeQuietly(client)
    }
    expect(await edge.stop('SIGTERM')).toBe(0)
    const { statSync, existsSync } = await import('node:fs')
    const wal = join(dataDir, 'edge.db-wal')
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true)
  })
})
