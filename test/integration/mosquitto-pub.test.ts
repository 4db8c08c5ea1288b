import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { mosquittoPub, mosquittoPubLines } from '../harness/mosquitto.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/** Debian's mosquitto_pub as a third-party client of the embedded broker. */
describe('mosquitto_pub publishing to the embedded broker', () => {
  let edge: TestEdge
  let tmp: TempDir
  let port: number
  const readings = async (sensor: string, metric: string) =>
    (await getJson<ReadingsBody>(edge.endpoints.httpUrl, `/v1/readings?sensor=${sensor}&metric=${metric}&limit=10000`)).body

  beforeAll(async () => {
    edge = await startTestEdge({ config: { ingest: { maxPayloadBytes: 4096 } } })
    port = edge.endpoints.mqttPort as number
    tmp = makeTempDir('cloudos-mospub-')
  })
  afterAll(async () => {
    await edge?.stop()
    tmp?.remove()
  })

  it.each([0, 1, 2] as const)('stores a reading published at QoS %i', async (qos) => {
    const ts = Date.now() - 1000
    const result = await mosquittoPub(port, `sensors/mospub-q${qos}/temp`, { text: JSON.stringify({ ts, value: 20 + qos }) }, { qos })
    expect(result.code, result.stderr).toBe(0)
    // QoS 1/2: mosquitto_pub exits after the broker's acknowledgement, i.e. after the commit.
    const body = qos === 0 ? await waitFor(async () => ((await readings(`mospub-q${qos}`, 'temp')).count === 1 ? readings(`mospub-q${qos}`, 'temp') : undefined)) : await readings(`mospub-q${qos}`, 'temp')
    expect(body.readings).toEqual([{ ts, value: 20 + qos, anomalyScore: null }])
  })

  it('stores a batch read from a file (-f)', async () => {
    const file = join(tmp.path, 'batch.json')
    const base = Date.now() - 10_000
    writeFileSync(file, JSON.stringify({ readings: Array.from({ length: 50 }, (_, i) => ({ ts: base + i, value: i * 1.5 })) }))
    const result = await mosquittoPub(port, 'sensors/mospub-file/vibration', { file }, { qos: 1 })
    expect(result.code, result.stderr).toBe(0)
    const body = await readings('mospub-file', 'vibration')
    expect(body.count).toBe(50)
    expect(body.readings[49]).toMatchObject({ ts: base + 49, value: 73.5 })
  })

  it('stores every line of a stream of messages (-l) at QoS 1', async () => {
    const base = Date.now() - 10_000
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ ts: base + i, value: i }))
    const result = await mosquittoPubLines(port, 'sensors/mospub-lines/flow', lines, 1)
    expect(result.code, result.stderr).toBe(0)
    const body = await waitFor(async () => {
      const b = await readings('mospub-lines', 'flow')
      return b.count === 300 ? b : undefined
    }, { what: '300 readings from mosquitto_pub -l' })
    expect(body.readings.map((r) => r.value)).toEqual(lines.map((_, i) => i))
  })

  it('dead-letters bad payloads and oversize files from mosquitto_pub, and keeps serving', async () => {
    const before = await getStats(edge.endpoints.httpUrl)
    expect((await mosquittoPub(port, 'sensors/mospub-bad/temp', { text: 'twenty degrees' }, { qos: 1 })).code).toBe(0)
    expect((await mosquittoPub(port, 'sensors/mospub-bad/temp', { text: '{"value": 1e999}' }, { qos: 1 })).code).toBe(0)
    expect((await mosquittoPub(port, 'sensors/mospub-bad', { text: '{"value": 1}' }, { qos: 1 })).code).toBe(0)
    const big = join(tmp.path, 'big.json')
    writeFileSync(big, JSON.stringify({ value: 1, pad: 'x'.repeat(5000) }))
    expect((await mosquittoPub(port, 'sensors/mospub-bad/temp', { file: big }, { qos: 1 })).code).toBe(0)
    const after = await getStats(edge.endpoints.httpUrl)
    expect(after.rejected.malformed_json - before.rejected.malformed_json).toBe(1)
    expect(after.rejected.non_finite_value - before.rejected.non_finite_value).toBe(1)
    expect(after.rejected.unknown_topic - before.rejected.unknown_topic).toBe(1)
    expect(after.rejected.payload_too_large - before.rejected.payload_too_large).toBe(1)
    expect(after.stored).toBe(before.stored)
    const ok = await mosquittoPub(port, 'sensors/mospub-bad/temp', { text: '{"value": 21}' }, { qos: 1 })
    expect(ok.code).toBe(0)
    expect((await readings('mospub-bad', 'temp')).count).toBe(1)
  })
})
