import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { residentBytes } from '../../bench/measure/process-memory.js'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { getJson } from '../helpers/http.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { limitHits, metricValue, openRaw, streamLargePublish } from './broker-client-kit.js'

/**
 * The memory attack against a real `cloudos edge` process: three
 * 100 MB retained messages took the edge from 176 to 721 MB RSS. The edge's
 * resident memory is read from /proc before and after (its own process, so
 * the test's buffers do not count).
 */
describe('a 100 MB retained message against the edge process', () => {
  let tmp: TempDir
  let edge: EdgeChild
  beforeAll(async () => {
    tmp = makeTempDir('cloudos-retained-rss-')
    const config = join(tmp.path, 'edge.json')
    writeFileSync(config, JSON.stringify({ mqtt: { host: '127.0.0.1' }, anomaly: { enabled: false } }))
    edge = await spawnEdge({ dataDir: join(tmp.path, 'data'), config })
  })
  afterAll(async () => {
    await edge?.stop()
    tmp?.remove()
  })

  it('refuses each before buffering it: the RSS does not grow by the payload', async () => {
    const before = residentBytes(edge.pid) as number
    expect(before).toBeGreaterThan(0)
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(edge.pid) ?? 0)), 10)
    try {
      for (let i = 0; i < 3; i++) {
        const attacker = await openRaw(edge.endpoints.mqttPort as number, { clientId: `poison-${i}`, keepalive: 30 })
        expect(await attacker.connack).toBe(0)
        const sent = await streamLargePublish(attacker, 'commands/boiler/burner', 100 * 1024 * 1024, true)
        await attacker.closed
        expect(sent).toBeLessThan(100 * 1024 * 1024)
      }
    } finally {
      clearInterval(sampler)
    }
    const url = edge.endpoints.httpUrl
    expect(await limitHits(url, 'packet_size')).toBe(3)
    expect(await metricValue(url, 'cloudos_edge_mqtt_retained_messages')).toBe(0)
    // Socket buffers and the refused chunks cost a few MB at most, not 300.
    expect(peak - before, `edge RSS ${before} -> peak ${peak} bytes`).toBeLessThan(24 * 1024 * 1024)
    const health = await getJson<{ status: string; mqttLimitsHit: string[] }>(url, '/healthz')
    expect(health.body).toMatchObject({ status: 'degraded', mqttLimitsHit: ['packet_size'] })
  }, 60_000)
})
