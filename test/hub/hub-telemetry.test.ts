import { describe, expect, it } from 'vitest'
import { signDeviceRequest } from '../../shared/device-auth/index.js'
import { encodeBatch, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { bearer, build, type TestHub } from './helper.js'
import { enrolDevice, type TestDevice } from './device-helper.js'

const T0 = Date.UTC(2026, 10, 26, 10, 0, 0)

/** A batch of `count` readings per series at 100 ms steps from `start`, values with 2 decimals. */
function batch(seq: number, start: number, count: number, series: [string, string][] = [['s-1', 'temperature'], ['s-2', 'power']]): TelemetryBatch {
  return {
    seq,
    series: series.map(([sensorId, metric], k) => {
      const timestamps = new Float64Array(count)
      const values = new Float64Array(count)
      for (let i = 0; i < count; i++) {
        timestamps[i] = start + i * 100
        values[i] = Math.round((20 + k * 10 + Math.sin((start + i * 100) / 5000)) * 100) / 100
      }
      return { sensorId, metric, timestamps, values }
    }),
  }
}

async function upload(hub: TestHub, device: TestDevice, bytes: Buffer, query = '', contentType = 'application/octet-stream') {
  const path = `/v1/telemetry/batches${query}`
  const headers = signDeviceRequest(device.privateKey, { deviceId: device.deviceId, method: 'POST', path, body: bytes, timestamp: hub.clock() })
  return hub.app.inject({ method: 'POST', url: path, headers: { ...headers, 'content-type': contentType }, payload: bytes })
}

async function setup(config?: unknown) {
  const hub = await build(config === undefined ? {} : { config })
  const admin = await hub.login(hub.admin)
  const device = await enrolDevice(hub, admin)
  const state = async () => (await hub.app.inject({ method: 'GET', url: `/v1/devices/${device.deviceId}/telemetry`, headers: bearer(admin) })).json()
  const query = async (q: string) => hub.app.inject({ method: 'GET', url: `/v1/telemetry?device=${device.deviceId}&${q}`, headers: bearer(admin) })
  return { hub, admin, device, state, query }
}

describe('POST /v1/telemetry/batches', () => {
  it('stores a batch once: a repeat answers duplicate: true and stores nothing', async () => {
    const { hub, device, state, query } = await setup()
    const bytes = encodeBatch(batch(1, T0, 500))
    const first = await upload(hub, device, bytes)
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toEqual({ seq: 1, duplicate: false, readings: 1000, lastSeq: 1 })
    const again = await upload(hub, device, bytes)
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual({ seq: 1, duplicate: true, readings: 1000, lastSeq: 1 })
    expect(await state()).toMatchObject({ lastSeq: 1, batches: 1, readings: 1000 })
    const raw = await query(`sensor=s-1&metric=temperature&from=${T0}&to=${T0 + 3_600_000}`)
    expect(raw.statusCode).toBe(200)
    const points = raw.json().points as { ts: number; value: number }[]
    expect(points.length).toBe(500)
    expect(points.map((p) => p.ts)).toEqual(Array.from({ length: 500 }, (_, i) => T0 + i * 100))
    expect(points).toEqual(Array.from(batch(1, T0, 500).series[0]!.timestamps, (ts, i) => ({ ts, value: batch(1, T0, 500).series[0]!.values[i] })))
    const metrics = await hub.app.inject('/metrics')
    expect(metrics.body).toMatch(/cloudos_hub_telemetry_batches_total\{outcome="duplicate"\} 1/)
    expect(metrics.body).toMatch(/cloudos_hub_telemetry_readings_stored_total 1000/)
  })

  it('refuses a seq gap with 409 and the expected seq, accepts a gap the device declares, refuses an older missing seq', async () => {
    const { hub, device, state } = await setup()
    expect((await upload(hub, device, encodeBatch(batch(1, T0, 10)))).statusCode).toBe(200)
    const gap = await upload(hub, device, encodeBatch(batch(3, T0 + 10_000, 10)))
    expect(gap.statusCode).toBe(409)
    expect(gap.json()).toMatchObject({ code: 'TELEMETRY_ERR_SEQ_OUT_OF_ORDER', details: { seq: 3, lastSeq: 1, expectedSeq: 2 } })
    // The edge dropped batch 2 under its budget and says so: previousSeq = the last seq the hub confirmed.
    const declared = await upload(hub, device, encodeBatch(batch(3, T0 + 10_000, 10)), '?previousSeq=1&droppedReadings=20')
    expect(declared.statusCode, declared.body).toBe(200)
    expect(declared.json()).toMatchObject({ seq: 3, duplicate: false, lastSeq: 3 })
    const older = await upload(hub, device, encodeBatch(batch(2, T0 + 5000, 10)), '?previousSeq=1')
    expect(older.statusCode).toBe(409)
    expect(await state()).toMatchObject({ lastSeq: 3, batches: 2, readings: 40, droppedReadings: 20 })
  })

  it('refuses corrupt, truncated and unknown-version batches with 400 and the codec reason, storing nothing', async () => {
    const { hub, device, state } = await setup()
    const good = encodeBatch(batch(1, T0, 200))
    const flipped = Buffer.from(good)
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] as number) ^ 0x40
    const versioned = Buffer.from(good)
    versioned[4] = 0xee
    const cases: [string, Buffer][] = [
      ['flipped byte', flipped],
      ['truncated', good.subarray(0, good.length - 7)],
      ['header only', good.subarray(0, 10)],
      ['unknown version', versioned],
      ['not a batch', Buffer.from('{"readings": []}')],
    ]
    for (const [name, bytes] of cases) {
      const response = await upload(hub, device, bytes)
      expect(response.statusCode, name).toBe(400)
      const body = response.json()
      expect(body.code, name).toBe('TELEMETRY_ERR_BATCH_INVALID')
      expect(body.details.reason, name).toMatch(/^BATCH_ERR_/)
    }
    const badId = await upload(hub, device, encodeBatch(batch(1, T0, 5, [['bad sensor id!', 'temperature']])))
    expect(badId.statusCode).toBe(400)
    expect(badId.json().details.reason).toBe('invalid_identifier')
    const badTs = encodeBatch({ seq: 1, series: [{ sensorId: 's-1', metric: 'm', timestamps: new Float64Array([1.5]), values: new Float64Array([1]) }] })
    expect((await upload(hub, device, badTs)).json().details.reason).toBe('invalid_timestamp')
    expect(await state()).toMatchObject({ lastSeq: 0, batches: 0, readings: 0 })
    // The good one still goes through afterwards.
    expect((await upload(hub, device, good)).statusCode).toBe(200)
  })

  it('refuses a decompression bomb (413) without storing it, and a body over telemetry.maxBatchBytes', async () => {
    const { hub, device, state } = await setup({ telemetry: { maxDecompressedBytes: 256 * 1024, maxBatchBytes: 64 * 1024 } })
    // 400k constant readings compress to almost nothing and inflate to megabytes.
    const n = 400_000
    const bomb = encodeBatch({ seq: 1, series: [{ sensorId: 's-1', metric: 'm', timestamps: new Float64Array(n).map((_, i) => T0 + i), values: new Float64Array(n).fill(1) }] }, { level: 19 })
    expect(bomb.length).toBeLessThan(64 * 1024)
    const response = await upload(hub, device, bomb)
    expect(response.statusCode).toBe(413)
    expect(response.json()).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_TOO_LARGE', details: { reason: 'BATCH_ERR_TOO_LARGE' } })
    const big = Buffer.alloc(70 * 1024, 7)
    const tooBig = await upload(hub, device, big)
    expect(tooBig.statusCode).toBe(413)
    expect(tooBig.json()).toMatchObject({ code: 'HUB_ERR_BODY_TOO_LARGE', details: { limitBytes: 64 * 1024 } })
    expect(await state()).toMatchObject({ lastSeq: 0, readings: 0 })
  })

  it('needs a signed device request and the octet-stream content type', async () => {
    const { hub, device } = await setup()
    const bytes = encodeBatch(batch(1, T0, 10))
    const unsigned = await hub.app.inject({ method: 'POST', url: '/v1/telemetry/batches', headers: { 'content-type': 'application/octet-stream' }, payload: bytes })
    expect(unsigned.statusCode).toBe(401)
    expect(unsigned.json().code).toBe('HUB_ERR_DEVICE_UNAUTHENTICATED')
    const json = await upload(hub, device, Buffer.from('{"a":1}'), '', 'application/json')
    expect(json.statusCode).toBe(415)
    expect(json.json().code).toBe('HUB_ERR_UNSUPPORTED_MEDIA_TYPE')
    const text = await upload(hub, device, bytes, '', 'text/plain')
    expect(text.statusCode).toBe(415)
  })
})

describe('GET /v1/telemetry', () => {
  it('answers raw readings (with a limit) and min/max/avg per step across batches', async () => {
    const { hub, device, query } = await setup()
    expect((await upload(hub, device, encodeBatch(batch(1, T0, 600)))).statusCode).toBe(200)
    expect((await upload(hub, device, encodeBatch(batch(2, T0 + 60_000, 600)))).statusCode).toBe(200)
    const expected = [...batch(1, T0, 600).series[1]!.values, ...batch(2, T0 + 60_000, 600).series[1]!.values]
    const limited = await query(`sensor=s-2&metric=power&from=${T0}&to=${T0 + 120_000}&limit=50`)
    expect(limited.json()).toMatchObject({ count: 50, truncated: true, step: null })
    const step = 10_000
    const down = await query(`sensor=s-2&metric=power&from=${T0}&to=${T0 + 119_999}&step=${step}`)
    expect(down.statusCode, down.body).toBe(200)
    const buckets = down.json().buckets as { ts: number; count: number; min: number; max: number; avg: number }[]
    expect(buckets.length).toBe(12)
    for (const [k, b] of buckets.entries()) {
      const values = expected.slice(k * 100, (k + 1) * 100)
      expect(b.ts).toBe(T0 + k * step)
      expect(b.count).toBe(100)
      expect(b.min).toBe(Math.min(...values))
      expect(b.max).toBe(Math.max(...values))
      expect(b.avg).toBeCloseTo(values.reduce((a, v) => a + v, 0) / 100, 9)
    }
    const tooMany = await query(`sensor=s-2&metric=power&from=0&to=${T0}&step=1`)
    expect(tooMany.statusCode).toBe(400)
    expect(tooMany.json().code).toBe('TELEMETRY_ERR_QUERY_TOO_LARGE')
    const none = await query(`sensor=s-9&metric=power&from=${T0}&to=${T0 + 1000}`)
    expect(none.json()).toMatchObject({ count: 0, points: [] })
    const anonymous = await hub.app.inject({ method: 'GET', url: `/v1/telemetry?device=${device.deviceId}&sensor=s-2&metric=power&from=0&to=1` })
    expect(anonymous.statusCode).toBe(401)
  })
})
