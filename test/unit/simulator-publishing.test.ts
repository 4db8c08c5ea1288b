import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  formatProgressLine,
  formatSummaryLine,
  MemoryTransport,
  replayCsv,
  startSimulator,
  type SimulatorHandle,
  type SimulatorStats,
  type TelemetryTransport,
} from '../../shared/simulator/index.js'
import { SimulatedSensor } from '../../shared/simulator/sensor-fleet.js'
import type { TelemetryReading } from '../../shared/telemetry.js'

const running: SimulatorHandle[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()))
})

function track(handle: SimulatorHandle): SimulatorHandle {
  running.push(handle)
  return handle
}

const waitFor = async (condition: () => boolean, timeoutMs = 2000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

function payloadReadings(payload: string): TelemetryReading[] {
  const body = JSON.parse(payload) as TelemetryReading | { readings: TelemetryReading[] }
  return 'readings' in body ? body.readings : [body]
}

function csvFile(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sim-replay-'))
  const path = join(dir, 'line-7 pump.csv')
  writeFileSync(path, ['timestamp,value', ...lines].join('\n'))
  return path
}

describe('startSimulator', () => {
  it('publishes exactly maxReadings, round-robin over the sensors, with seeded values', async () => {
    const transport = new MemoryTransport()
    const handle = track(await startSimulator({ transport, sensorCount: 3, readingsPerSecond: 1000, maxReadings: 90, seed: 5, anomalyChancePerSecond: 0 }))
    const stats = await handle.done
    expect(stats.finished).toBe('count')
    expect(stats.readingsPublished).toBe(90)
    expect(stats.readingsAcked).toBe(90)
    expect(transport.messages.map((m) => m.topic).slice(0, 4)).toEqual([
      'sensors/sim-01/temperature',
      'sensors/sim-02/humidity',
      'sensors/sim-03/vibration',
      'sensors/sim-01/temperature',
    ])
    expect(transport.messages.every((m) => m.qos === 1)).toBe(true)
    expect(JSON.parse(transport.messages[0]!.payload)).toEqual({ ts: expect.any(Number), value: expect.any(Number) })
    // The same seed and timestamps give the same values: replay the sensor offline and compare.
    const temperature = transport.messages.filter((m) => m.topic === 'sensors/sim-01/temperature').flatMap((m) => payloadReadings(m.payload))
    expect(temperature).toHaveLength(30)
    const offline = new SimulatedSensor('sim-01', 'temperature', 5, { readingsPerSecond: 1000, anomalyChancePerSecond: 0 })
    expect(temperature.map((r) => offline.read(r.ts).value)).toEqual(temperature.map((r) => r.value))
    // One slot per millisecond at 1000 readings/s.
    for (let i = 1; i < temperature.length; i++) expect(temperature[i]!.ts - temperature[i - 1]!.ts).toBe(1)
    expect(handle.description).toMatch(/3 sensors .* sensors\/sim-01\.\.sim-03\/<kind> at 1000 readings\/s each to memory, QoS 1, seed 5/)
  })

  it('sends batches of readingsPerMessage and flushes the partial ones at the end', async () => {
    const transport = new MemoryTransport()
    const handle = track(await startSimulator({ transport, sensorCount: 2, readingsPerSecond: 5000, readingsPerMessage: 7, maxReadings: 50, qos: 0, seed: 1 }))
    const stats = await handle.done
    const sizes = transport.messages.map((m) => payloadReadings(m.payload).length)
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(50)
    expect(stats.readingsPublished).toBe(50)
    expect(stats.messagesPublished).toBe(transport.messages.length)
    expect(Math.max(...sizes)).toBe(7)
    // 25 readings per sensor: three full batches and one of 4 each.
    expect(sizes.filter((n) => n === 7)).toHaveLength(6)
    expect(sizes.filter((n) => n === 4)).toHaveLength(2)
    expect(JSON.parse(transport.messages[0]!.payload)).toHaveProperty('readings')
    expect(transport.messages.every((m) => m.qos === 0)).toBe(true)
  })

  it('keeps at most maxInFlight messages unacknowledged, then catches up on schedule', async () => {
    const transport = new MemoryTransport({ holdAcks: true })
    const handle = track(await startSimulator({ transport, sensorCount: 1, readingsPerSecond: 200, maxInFlight: 4, maxReadings: 40, seed: 2, anomalyChancePerSecond: 0 }))
    await waitFor(() => transport.messages.length === 4)
    await new Promise((r) => setTimeout(r, 100))
    expect(transport.messages).toHaveLength(4)
    expect(handle.stats().messagesInFlight).toBe(4)
    transport.releaseAcks(2)
    await waitFor(() => transport.messages.length === 6)
    expect(handle.stats().readingsAcked).toBe(2)
    transport.holdAcks = false
    transport.releaseAcks()
    const stats = await handle.done
    expect(stats.readingsAcked).toBe(40)
    // Readings held back keep the time they were due: evenly 5 ms apart despite the burst.
    const ts = transport.messages.map((m) => payloadReadings(m.payload)[0]!.ts)
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(5)
  })

  it('stops promptly on stop() and leaves a caller\'s transport open', async () => {
    const transport = new MemoryTransport()
    const handle = track(await startSimulator({ transport, sensorCount: 2, readingsPerSecond: 0.5, seed: 3 }))
    await waitFor(() => transport.messages.length === 2)
    const before = Date.now()
    const stats = await handle.stop()
    expect(Date.now() - before).toBeLessThan(500)
    expect(stats.finished).toBe('stopped')
    expect(stats.readingsPublished).toBe(2)
    expect(transport.closed).toBe(false)
    expect(await handle.stop()).toEqual(stats)
  })

  it('stops after durationMs', async () => {
    const transport = new MemoryTransport()
    const handle = track(await startSimulator({ transport, sensorCount: 1, readingsPerSecond: 100, durationMs: 300, seed: 4, anomalyChancePerSecond: 0 }))
    const stats = await handle.done
    expect(stats.finished).toBe('duration')
    expect(stats.readingsPublished).toBeGreaterThanOrEqual(25)
    expect(stats.readingsPublished).toBeLessThanOrEqual(31)
    expect(stats.elapsedMs).toBeLessThan(1000)
  })

  it('counts anomalies and readings lost to dropouts', async () => {
    const transport = new MemoryTransport()
    const handle = track(await startSimulator({ transport, sensorCount: 5, readingsPerSecond: 1, anomalyChancePerSecond: 1, maxReadings: 5, seed: 6 }))
    const stats = await handle.done
    const { spike, stuck, dropout } = stats.anomalies
    // Every sensor starts an anomaly on its first reading at chance 1 per second and 1 reading/s.
    expect(spike + stuck + dropout).toBeGreaterThanOrEqual(5)
    expect(stats.readingsDroppedByDropout).toBeGreaterThanOrEqual(dropout)
    expect(stats.readingsPublished).toBe(5)
  })

  it('counts messages the transport fails', async () => {
    const failing: TelemetryTransport = {
      destination: 'nowhere',
      publish: () => Promise.reject(new Error('connection closed')),
      connection: () => ({ connected: false, disconnects: 1, reconnects: 0, lastError: 'gone' }),
      close: async () => {},
    }
    const stats = await track(await startSimulator({ transport: failing, sensorCount: 1, readingsPerSecond: 1000, maxReadings: 10 })).done
    expect(stats.readingsFailed).toBe(10)
    expect(stats.readingsAcked).toBe(0)
    expect(stats.lastPublishError).toBe('connection closed')
    expect(stats.disconnects).toBe(1)
  })

  it('checks its options and names the one that is wrong', async () => {
    const transport = new MemoryTransport()
    await expect(startSimulator({})).rejects.toThrow(/mqttUrl must be an mqtt:\/\/ or mqtts:\/\/ URL/)
    await expect(startSimulator({ mqttUrl: 'http://x' })).rejects.toThrow(/mqttUrl must be/)
    await expect(startSimulator({ transport, sensorCount: 0 })).rejects.toThrow('sensorCount must be an integer from 1 to 10000 (got 0)')
    await expect(startSimulator({ transport, readingsPerSecond: 0 })).rejects.toThrow(/readingsPerSecond must be a number above 0/)
    await expect(startSimulator({ transport, qos: 2 as 0 })).rejects.toThrow('qos must be 0 or 1 (got 2)')
    await expect(startSimulator({ transport, readingsPerMessage: 10_001 })).rejects.toThrow(/readingsPerMessage must be an integer from 1 to 10000/)
    await expect(startSimulator({ transport, idPrefix: 'bad/prefix' })).rejects.toThrow(/idPrefix must make ids/)
    await expect(startSimulator({ transport, anomalyChancePerSecond: 2 })).rejects.toThrow(/anomalyChancePerSecond must be a number from 0 to 1/)
  })
})

describe('replayCsv', () => {
  const rows = ['2014-04-01 00:00:00,1.5', '2014-04-01 00:05:00,2', '2014-04-01 00:10:00,-3.25', '2014-04-01 00:20:00,4']

  it('publishes the rows in order with values unchanged and timestamps shifted so the last row is the start', async () => {
    const transport = new MemoryTransport()
    const handle = track(await replayCsv({ transport, file: csvFile(rows), pacing: { kind: 'rate', rowsPerSecond: 1000 } }))
    const stats = await handle.done
    expect(stats.finished).toBe('end-of-data')
    const sent = transport.messages.flatMap((m) => payloadReadings(m.payload))
    expect(transport.messages.every((m) => m.topic === 'sensors/line-7_pump/value')).toBe(true)
    expect(sent.map((r) => r.value)).toEqual([1.5, 2, -3.25, 4])
    expect(sent[3]!.ts).toBe(stats.startedAt)
    expect(sent.map((r) => r.ts - sent[0]!.ts)).toEqual([0, 5, 10, 20].map((m) => m * 60_000))
    expect(handle.warnings).toEqual([])
  })

  it('keeps original timestamps when asked, and warns that an edge will reject them', async () => {
    const transport = new MemoryTransport()
    const handle = track(await replayCsv({ transport, file: csvFile(rows), timestamps: 'original', sensorId: 'pump', metric: 'flow', pacing: { kind: 'rate', rowsPerSecond: 1000 } }))
    await handle.done
    expect(transport.messages[0]).toMatchObject({ topic: 'sensors/pump/flow', payload: JSON.stringify({ ts: Date.UTC(2014, 3, 1), value: 1.5 }) })
    expect(handle.warnings[0]).toMatch(/4 of 4 rows are older than 90 days/)
  })

  it('paces by the original spacing divided by the speed', async () => {
    const transport = new MemoryTransport()
    // 20 minutes of data at 6000x: 200 ms, with the row at 10 min due at 100 ms.
    const handle = track(await replayCsv({ transport, file: csvFile(rows), pacing: { kind: 'speed', speed: 6000 } }))
    await waitFor(() => transport.messages.length >= 3)
    const atThird = Date.now() - handle.stats().startedAt
    const stats = await handle.done
    expect(atThird).toBeGreaterThanOrEqual(99)
    expect(stats.elapsedMs).toBeGreaterThanOrEqual(199)
    expect(stats.elapsedMs).toBeLessThan(1000)
  })

  it('batches rows and stops at maxReadings with the timestamps a full replay would give', async () => {
    const transport = new MemoryTransport()
    const file = csvFile(rows)
    const handle = track(await replayCsv({ transport, file, readingsPerMessage: 2, maxReadings: 3, pacing: { kind: 'rate', rowsPerSecond: 1000 } }))
    const stats = await handle.done
    expect(transport.messages.map((m) => payloadReadings(m.payload).length)).toEqual([2, 1])
    const sent = transport.messages.flatMap((m) => payloadReadings(m.payload))
    // The shift still puts the file's last row (20 min after the first) at the start.
    expect(sent[0]!.ts).toBe(stats.startedAt - 20 * 60_000)
    expect(stats.readingsPublished).toBe(3)
    expect(stats.finished).toBe('end-of-data')
  })

  it('fails on a bad file before connecting, naming file and line', async () => {
    const file = csvFile(['2014-04-01 00:00:00,1', 'yesterday,2'])
    await expect(replayCsv({ mqttUrl: 'mqtt://127.0.0.1:1', file })).rejects.toMatchObject({
      code: 'SIM_ERR_CSV_FORMAT',
      message: `${file}:3: timestamp "yesterday" is not a date-time like 2014-04-01 00:00:00`,
    })
  })

  it('checks its options', async () => {
    const transport = new MemoryTransport()
    await expect(replayCsv({ transport, file: csvFile(rows), sensorId: 'a/b' })).rejects.toThrow(/sensorId must be 1-64 characters/)
    await expect(replayCsv({ transport, file: csvFile(rows), pacing: { kind: 'speed', speed: 0 } })).rejects.toThrow(/pacing.speed must be a number above 0/)
    await expect(replayCsv({ transport, file: csvFile(rows), timestamps: 'later' as 'shift' })).rejects.toThrow(/timestamps must be "shift" or "original"/)
  })
})

describe('progress and summary lines', () => {
  const base: SimulatorStats = {
    startedAt: 0, elapsedMs: 10_000, messagesPublished: 90, readingsPublished: 900, messagesAcked: 88, readingsAcked: 880,
    messagesFailed: 0, readingsFailed: 0, lastPublishError: undefined, readingsPerSecond: 90, messagesInFlight: 2,
    connected: true, disconnects: 0, reconnects: 0, lastConnectionError: undefined,
    anomalies: { spike: 0, stuck: 0, dropout: 0 }, readingsDroppedByDropout: 0, finished: undefined, error: undefined,
  }

  it('reports the rate over the last interval', () => {
    const previous = { ...base, elapsedMs: 5000, readingsPublished: 400 }
    expect(formatProgressLine(base, previous)).toBe('simulate: 10.0 s: 900 published, 880 acked, 100 readings/s, 2 messages in flight')
  })

  it('flags a lost connection', () => {
    expect(formatProgressLine({ ...base, connected: false, disconnects: 1 })).toMatch(/DISCONNECTED, retrying, 1 disconnects, 0 reconnects$/)
  })

  it('sums up a run, with anomalies when there were some', () => {
    expect(formatSummaryLine({ ...base, finished: 'count', anomalies: { spike: 2, stuck: 1, dropout: 1 }, readingsDroppedByDropout: 30 })).toBe(
      'simulate: count after 10.0 s: 900 readings in 90 messages published, 880 acked, 0 failed, 20 unacknowledged, 90.0 readings/s, ' +
        '0 disconnects, 0 reconnects, anomalies: 2 spikes, 1 stuck, 1 dropouts (30 readings not sent)',
    )
    expect(formatSummaryLine({ ...base, finished: 'error', error: 'boom' })).toMatch(/^simulate: failed: boom after 10.0 s/)
  })
})
