import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { defaultMaxBytes, drainToHub, fillOfflineBacklog, startBenchHub, type BenchHub } from '../../bench/sync/sync-setup.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

const HOURS = 72
const SENSORS = 20
const PER_SECOND = 10

// UC-004: 72 hours without connectivity. 20 simulated sensors (shared/simulator
// signal models: daily cycles, drift, noise, each kind's resolution, a few
// anomalies and dropouts) at 10 readings/s each, written through the edge's
// commit path on an accelerated clock while the outbox seals and retention
// enforces the default budget every simulated hour. Then a real edge process
// reconnects to a real hub and drains the backlog.
describe('72 hours offline', () => {
  let tmp: TempDir
  let hub: BenchHub | undefined
  beforeAll(() => {
    tmp = makeTempDir('cloudos-outbox-72h-')
  })
  afterAll(async () => {
    await hub?.close()
    tmp.remove()
  })

  it('fits in the default storage.maxBytes with nothing dropped, and drains completely after reconnect', async () => {
    const edgeDir = join(tmp.path, 'edge')
    const backlog = fillOfflineBacklog(edgeDir, { hours: HOURS, sensors: SENSORS, readingsPerSecond: PER_SECOND })
    const nominal = HOURS * 3600 * SENSORS * PER_SECOND
    // Simulated dropouts (a sensor going silent for a while) remove a few readings.
    expect(backlog.readings).toBeGreaterThan(nominal * 0.98)
    expect(backlog.readings).toBeLessThanOrEqual(nominal)
    expect(backlog.dropped).toBe(0)
    expect(backlog.dbBytes).toBeLessThan(defaultMaxBytes())
    const bytesPerReading = backlog.dbBytes / backlog.readings
    process.stdout.write(
      `[72h] ${backlog.readings.toLocaleString('en-US')} readings in ${(backlog.dbBytes / 1024 / 1024).toFixed(1)} MiB of edge database ` +
        `(${bytesPerReading.toFixed(2)} bytes/reading on disk, ${(backlog.sealedBytes / backlog.readings).toFixed(2)} in sealed batches; ` +
        `budget ${defaultMaxBytes() / 1024 / 1024} MiB), ${backlog.batches} batches, filled in ${backlog.fillSeconds.toFixed(0)} s\n`,
    )
    expect(bytesPerReading).toBeLessThan(5)

    hub = await startBenchHub(join(tmp.path, 'hub'))
    const drained = await drainToHub({ edgeDataDir: edgeDir, hub, expectedReadings: backlog.readings, timeoutMs: 20 * 60_000 })
    process.stdout.write(`[72h] drained to the hub in ${drained.seconds.toFixed(1)} s (${Math.round(drained.readingsPerSecond).toLocaleString('en-US')} readings/s end to end)\n`)
    expect(hub.readingsStored()).toBe(backlog.readings)
    expect(hub.storedBytes()).toBe(backlog.sealedBytes)
  }, 40 * 60_000)
})
