import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { mosquittoPub, mosquittoPubLines, startMosquitto, type MosquittoBroker } from '../harness/mosquitto.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/** `cloudos edge --broker mqtt://...`: telemetry from Debian's mosquitto instead of the embedded broker. */
describe('external broker mode (mosquitto)', () => {
  let tmp: TempDir
  let broker: MosquittoBroker
  let edge: EdgeChild | undefined
  const dataDir = () => `${tmp.path}/data`
  const start = async () => {
    edge = await spawnEdge({ dataDir: dataDir(), broker: broker.url })
    return edge
  }
  const readings = async (sensor: string, metric: string) =>
    (await getJson<ReadingsBody>(edge!.endpoints.httpUrl, `/v1/readings?sensor=${sensor}&metric=${metric}&limit=10000`)).body

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-external-')
    broker = await startMosquitto(tmp.path)
    await start()
  })
  afterAll(async () => {
    await edge?.stop()
    await broker?.stop()
    tmp?.remove()
  })

  it('reports the external broker in its endpoints and /healthz', async () => {
    expect(edge!.endpoints.mqttUrl).toBe(broker.url)
    expect(edge!.endpoints.mqttPort).toBeNull()
    const health = await getJson<{ status: string; broker: { kind: string; connected: boolean; url: string } }>(edge!.endpoints.httpUrl, '/healthz')
    expect(health.status).toBe(200)
    expect(health.body.broker).toMatchObject({ kind: 'external', connected: true, url: broker.url })
  })

  it.each([0, 1] as const)('stores readings published with mosquitto_pub at QoS %i', async (qos) => {
    const ts = Date.now() - 1000
    const result = await mosquittoPub(broker.port, `sensors/ext-q${qos}/temp`, { text: JSON.stringify({ ts, value: 10 + qos }) }, { qos })
    expect(result.code, result.stderr).toBe(0)
    const body = await waitFor(async () => {
      const b = await readings(`ext-q${qos}`, 'temp')
      return b.count === 1 ? b : undefined
    }, { what: 'the reading to arrive through mosquitto' })
    expect(body.readings).toEqual([{ ts, value: 10 + qos, anomalyScore: null }])
  })

  it('stores a stream of QoS 1 messages and dead-letters bad ones', async () => {
    const base = Date.now() - 10_000
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ ts: base + i, value: i }))
    expect((await mosquittoPubLines(broker.port, 'sensors/ext-stream/flow', lines, 1)).code).toBe(0)
    expect((await mosquittoPub(broker.port, 'sensors/ext-stream/flow', { text: '{"value": "high"}' }, { qos: 1 })).code).toBe(0)
    await waitFor(async () => (await readings('ext-stream', 'flow')).count === 200, { what: '200 readings through mosquitto' })
    const stats = await waitFor(async () => {
      const s = await getStats(edge!.endpoints.httpUrl)
      return s.rejected.invalid_value === 1 ? s : undefined
    }, { what: 'the dead letter' })
    expect(stats.stored).toBeGreaterThanOrEqual(202)
  })

  it('keeps its persistent session: QoS 1 readings published while the edge was down are stored after it restarts', async () => {
    expect(await edge!.stop()).toBe(0)
    edge = undefined
    const base = Date.now() - 10_000
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ ts: base + i, value: i }))
    expect((await mosquittoPubLines(broker.port, 'sensors/ext-offline/temp', lines, 1)).code).toBe(0)
    await start()
    const body = await waitFor(async () => {
      const b = await readings('ext-offline', 'temp')
      return b.count === 20 ? b : undefined
    }, { what: 'the readings queued by mosquitto while the edge was down' })
    expect(body.readings.map((r) => r.value)).toEqual(lines.map((_, i) => i))
    // The readings stored before the restart are still there.
    expect((await readings('ext-stream', 'flow')).count).toBe(200)
  })
})
