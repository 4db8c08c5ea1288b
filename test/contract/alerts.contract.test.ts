import { describe, expect, it } from 'vitest'
import { forwardPendingAlerts } from '../../edge/hub-link/alert-forwarder.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { AlertStore } from '../../edge/store/alert-store.js'
import { alertsExchange } from '../../shared/protocol/alerts.js'
import { useContractSetup } from './contract-fixture.js'

describe('contract: alerts forwarding (POST /v1/devices/me/alerts)', () => {
  const setup = useContractSetup()

  it('the forwarder sends alerts in batches to the real hub; every answer matches the shared schema; a re-sent alert is counted a duplicate', async () => {
    const edge = await setup.enrolEdge()
    const alerts = new AlertStore(edge.db)
    const raise = (severity: 'info' | 'warning' | 'critical', value: number) => alerts.raise({ sensorId: 'boiler-1', metric: 'temp', severity, rule: 'temp-high', value, message: `temp ${value}` })
    raise('info', 70)
    raise('warning', 80)
    raise('critical', 95)
    const first = await forwardPendingAlerts(edge.client, alerts, 2)
    expect(first).toEqual({ sent: 3, accepted: 3, duplicates: 0 })
    expect(edge.client.answersTo(alertsExchange)).toEqual([
      { accepted: 2, duplicates: 0, lastSeq: 2 },
      { accepted: 1, duplicates: 0, lastSeq: 3 },
    ])
    const listed = await setup.hub.get<{ alerts: { seq: number; severity: string; value: number }[] }>(`/v1/alerts?deviceId=${edge.identity.deviceId}`)
    expect(listed.body.alerts.map((a) => [a.seq, a.severity, a.value])).toEqual([
      [3, 'critical', 95],
      [2, 'warning', 80],
      [1, 'info', 70],
    ])

    // The same device's alerts sent again (a 200 lost on the way back): the hub keeps one of each.
    const replayDb = openEdgeDatabase({ dataDir: `${setup.tmp.path}/replay`, synchronous: 'normal' })
    try {
      const replay = new AlertStore(replayDb)
      replay.raise({ sensorId: 'boiler-1', metric: 'temp', severity: 'info', rule: 'temp-high', value: 70, message: 'temp 70' })
      expect(await forwardPendingAlerts(edge.client, replay, 10)).toEqual({ sent: 1, accepted: 0, duplicates: 1 })
      expect(edge.client.answersTo(alertsExchange).at(-1)).toEqual({ accepted: 0, duplicates: 1, lastSeq: 3 })
    } finally {
      replayDb.close()
    }
  })
})
