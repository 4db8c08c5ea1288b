import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { checkTrialHealth } from '../../edge/ota/trial-health.js'

/**
 * The OTA trial's /healthz check against a real HTTP server answering what an
 * edge answers. A /healthz degraded only because MQTT clients hit the broker's
 * limits must not fail the trial: otherwise anyone who can flood the broker
 * during a trial window forces a rollback.
 */
describe('OTA trial health: /healthz', () => {
  let server: Server
  let answer: { status: number; body: unknown } = { status: 200, body: { status: 'ok' } }
  let httpUrl = ''
  const checks = { ...loadEdgeConfig(undefined).ota.healthCheck, requireHealthz: true, requireBroker: false, requireIngest: false }

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(answer.body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const check = () => checkTrialHealth({ httpUrl, mqttPort: null }, checks, undefined)

  it('passes on ok, and on degraded when the only reasons are broker limits hit by clients', async () => {
    answer = { status: 200, body: { status: 'ok', reasons: [], mqttLimitsHit: [] } }
    expect(await check()).toBeNull()
    answer = { status: 503, body: { status: 'degraded', reasons: ['MQTT clients hit the broker limit "connect_rate" in the last minute'], mqttLimitsHit: ['connect_rate'] } }
    expect(await check()).toBeNull()
  })

  it('fails when the edge itself is degraded, alone or beside limit hits', async () => {
    answer = { status: 503, body: { status: 'degraded', reasons: ['commits are failing (storage)'], mqttLimitsHit: [] } }
    expect(await check()).toMatch(/503 "degraded"/)
    answer = {
      status: 503,
      body: { status: 'degraded', reasons: ['the broker is not connected', 'MQTT clients hit the broker limit "connections" in the last minute'], mqttLimitsHit: ['connections'] },
    }
    expect(await check()).toMatch(/503 "degraded"/)
    answer = { status: 503, body: { status: 'degraded' } }
    expect(await check()).toMatch(/503 "degraded"/)
  })
})
