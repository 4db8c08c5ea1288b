import { afterEach, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import type { AlertMessage } from '../../edge/rules/alert-dispatcher.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson } from '../helpers/http.js'
import { closeQuietly, collectMessages, connectMqtt, type Message } from '../helpers/mqtt-client.js'
import { waitFor } from '../helpers/wait.js'

const parse = (m: Message) => JSON.parse(m.payload.toString('utf8')) as AlertMessage

describe('local rules on a real edge (embedded broker over TCP, SQLite, HTTP), inference off', () => {
  let edge: TestEdge | undefined
  const clients: MqttClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) await closeQuietly(c)
    await edge?.stop()
    edge = undefined
  })

  async function client(): Promise<MqttClient> {
    const c = await connectMqtt(edge!.endpoints.mqttUrl)
    clients.push(c)
    return c
  }

  it('publishes one alert per incident on alerts/<sensor>/<metric>, runs the action, stores it, and publishes the clear', async () => {
    edge = await startTestEdge({
      config: {
        anomaly: { enabled: false },
        rules: {
          'boiler-hot': {
            sensor: 'boiler-*',
            metric: 'temperature',
            max: 90,
            clearMax: 85,
            severity: 'critical',
            cooldownSeconds: 0,
            action: { topic: 'commands/boiler-1/burner', payload: '{"burner":"off"}' },
          },
        } as never,
      },
    })
    const subscriber = await client()
    await subscriber.subscribeAsync(['alerts/#', 'commands/#'])
    const received = collectMessages(subscriber)
    const sensor = await client()
    const now = Date.now()
    const values = [80, 95, 97, 88, 84, 99]
    for (const [i, value] of values.entries()) {
      await sensor.publishAsync('sensors/boiler-1/temperature', JSON.stringify({ ts: now + i, value }), { qos: 1 })
    }
    // 95 raises; 97 and 88 are the same incident (88 > clearMax); 84 clears; 99 raises again.
    await waitFor(() => received.filter((m) => m.topic.startsWith('alerts/')).length >= 3, { what: 'three alert messages' })
    const alerts = received.filter((m) => m.topic === 'alerts/boiler-1/temperature').map(parse)
    expect(alerts.map((a) => [a.state, a.observed])).toEqual([
      ['raised', 95],
      ['cleared', 84],
      ['raised', 99],
    ])
    expect(alerts[0]).toMatchObject({ rule: 'boiler-hot', condition: 'above', severity: 'critical', sensorId: 'boiler-1', metric: 'temperature', threshold: 90, ts: now + 1, value: 95 })
    expect(alerts[1]).toMatchObject({ seq: alerts[0]!.seq, threshold: 85 })
    expect(alerts[2]!.seq).toBeGreaterThan(alerts[0]!.seq!)
    const commands = received.filter((m) => m.topic === 'commands/boiler-1/burner')
    expect(commands.map((m) => m.payload.toString())).toEqual(['{"burner":"off"}', '{"burner":"off"}'])

    const stored = await getJson<{ alerts: Array<{ seq: number; rule: string; value: number; clearedAt: string | null; severity: string }> }>(edge.endpoints.httpUrl, '/v1/alerts')
    expect(stored.body.alerts.map((a) => [a.seq, a.rule, a.value, a.clearedAt === null])).toEqual([
      [alerts[2]!.seq, 'boiler-hot', 99, true],
      [alerts[0]!.seq, 'boiler-hot', 95, false],
    ])
    const stats = await getJson<{ rules: Record<string, number>; inference: { enabled: boolean } }>(edge.endpoints.httpUrl, '/v1/stats')
    expect(stats.body.rules).toMatchObject({ rules: 1, raised: 2, cleared: 1, alertsPublished: 2, clearsPublished: 1, actionsPublished: 2 })
    expect(stats.body.inference.enabled).toBe(false)
    const metrics = await (await fetch(`${edge.endpoints.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/^cloudos_edge_alerts_raised_total 2$/m)
    expect(metrics).toMatch(/^cloudos_edge_alerts_cleared_total 1$/m)
  })

  it('raises a missing-data alert when a sensor falls silent, and clears it with its next reading', async () => {
    edge = await startTestEdge({
      config: { anomaly: { enabled: false }, rules: { silent: { sensor: 'pump-*', missingSeconds: 0.3, cooldownSeconds: 0 } } as never },
    })
    const subscriber = await client()
    await subscriber.subscribeAsync('alerts/#')
    const received = collectMessages(subscriber)
    const sensor = await client()
    await sensor.publishAsync('sensors/pump-7/flow', JSON.stringify({ value: 3 }), { qos: 1 })
    await waitFor(() => received.length >= 1, { what: 'a missing-data alert' })
    expect(parse(received[0]!)).toMatchObject({ state: 'raised', condition: 'missing', sensorId: 'pump-7', metric: 'flow', value: 3 })
    await sensor.publishAsync('sensors/pump-7/flow', JSON.stringify({ value: 4 }), { qos: 1 })
    await waitFor(() => received.some((m) => parse(m).state === 'cleared'), { what: 'the clear' })
  })

  it('takes a new rule set while running, and refuses an inconsistent one keeping the old', async () => {
    edge = await startTestEdge({ config: { anomaly: { enabled: false }, rules: { hot: { max: 50, cooldownSeconds: 0 } } as never } })
    const subscriber = await client()
    await subscriber.subscribeAsync('alerts/#')
    const received = collectMessages(subscriber)
    const sensor = await client()
    expect(() => edge!.runtime.updateRules({ broken: { max: 1, clearMax: 2 } } as never)).toThrow(/clearMax/)
    await sensor.publishAsync('sensors/s-1/t', JSON.stringify({ value: 60 }), { qos: 1 })
    await waitFor(() => received.length === 1, { what: 'an alert from the original rule' })
    edge.runtime.updateRules({ hot: { max: 50, cooldownSeconds: 0 }, cold: { min: 0, cooldownSeconds: 0, severity: 'info' } } as never)
    await sensor.publishAsync('sensors/s-1/t', JSON.stringify({ value: -5 }), { qos: 1 })
    await waitFor(() => received.length === 3, { what: 'the clear of hot and the alert of cold' })
    expect(received.map(parse).map((a) => `${a.rule}:${a.state}`)).toEqual(['hot:raised', 'hot:cleared', 'cold:raised'])
  })

  it('answers INFERENCE_ERR_DISABLED to a model swap while inference is off, and readings carry a null score', async () => {
    edge = await startTestEdge({ config: { anomaly: { enabled: false } } })
    const response = await fetch(`${edge.endpoints.httpUrl}/v1/model`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...edge.authHeaders },
      body: JSON.stringify({ path: '/nowhere.card.json' }),
    })
    expect(response.status).toBe(409)
    expect(((await response.json()) as { code: string }).code).toBe('INFERENCE_ERR_DISABLED')
    const sensor = await client()
    const fixedTs = Date.now() - 1000
    await sensor.publishAsync('sensors/s-2/t', JSON.stringify({ ts: fixedTs, value: 1 }), { qos: 1 })
    const readings = await getJson<{ readings: unknown[] }>(edge.endpoints.httpUrl, '/v1/readings?sensor=s-2&metric=t')
    expect(readings.body.readings).toEqual([{ ts: fixedTs, value: 1, anomalyScore: null }])
    const model = await getJson<{ enabled: boolean; model: unknown }>(edge.endpoints.httpUrl, '/v1/model')
    expect(model.body).toMatchObject({ enabled: false, model: null })
  })
})
