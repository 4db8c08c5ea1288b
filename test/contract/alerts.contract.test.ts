import { describe, expect, it } from 'vitest'
import { forwardPendingAlerts } from '../../edge/hub-link/alert-forwarder.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { AlertStore } from '../../edge/store/alert-store.js'
import { alertContentSha256, alertReportOf, alertsExchange } from '../../shared/protocol/alerts.js'
import { StreamEpochs } from '../../edge/outbox/stream-epochs.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { quietLogger, useContractSetup } from './contract-fixture.js'

describe('contract: alerts forwarding (POST /v1/devices/me/alerts)', () => {
  const setup = useContractSetup()

  it('the forwarder sends alerts in batches to the real hub; every answer matches the shared schema; a re-sent alert is counted a duplicate', async () => {
    const edge = await setup.enrolEdge()
    const alerts = new AlertStore(edge.db)
    const raise = (severity: 'info' | 'warning' | 'critical', value: number) => alerts.raise({ sensorId: 'boiler-1', metric: 'temp', severity, rule: 'temp-high', value, message: `temp ${value}` })
    const firstAlert = raise('info', 70)
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
      // The same alert: same seq and content (its raisedAt included), as a re-send after a lost 200 carries it.
      replay.raise({ sensorId: 'boiler-1', metric: 'temp', severity: 'info', rule: 'temp-high', value: 70, message: 'temp 70', raisedAt: firstAlert.raisedAt })
      expect(await forwardPendingAlerts(edge.client, replay, 10)).toEqual({ sent: 1, accepted: 0, duplicates: 1 })
      expect(edge.client.answersTo(alertsExchange).at(-1)).toEqual({ accepted: 0, duplicates: 1, lastSeq: 3 })
    } finally {
      replayDb.close()
    }
  })

  it('a restored or copied database: the same seq with other content is 409 HUB_ERR_STREAM_CONFLICT; the forwarder starts a new epoch and the hub keeps both alerts', async () => {
    const edge = await setup.enrolEdge()
    const original = new AlertStore(edge.db)
    original.raise({ sensorId: 'boiler-1', metric: 'temp', severity: 'critical', rule: 'temp-high', value: 95, message: 'temp 95', raisedAt: 1_000 })
    const stream = new StreamEpochs({ db: edge.db, dataDir: edge.dataDir, counters: new CountersStore(edge.db), log: quietLogger() })
    stream.open()
    expect(await forwardPendingAlerts(edge.client, original, 10, stream)).toEqual({ sent: 1, accepted: 1, duplicates: 0 })

    // A second database of the same device hands out seq 1 again, for another alert.
    const copyDir = `${setup.tmp.path}/copied-${edge.identity.deviceId}`
    const copyDb = openEdgeDatabase({ dataDir: copyDir, synchronous: 'normal' })
    const log = quietLogger()
    try {
      const copy = new AlertStore(copyDb)
      copy.raise({ sensorId: 'boiler-1', metric: 'temp', severity: 'critical', rule: 'temp-high', value: 99, message: 'temp 99', raisedAt: 2_000 })
      const copyStream = new StreamEpochs({ db: copyDb, dataDir: copyDir, counters: new CountersStore(copyDb), log })
      copyStream.open()
      // Without a stream (an edge that cannot start an epoch) the conflict is thrown, nothing stored.
      await expect(forwardPendingAlerts(edge.client, copy, 10)).rejects.toMatchObject({ status: 409, hubCode: 'HUB_ERR_STREAM_CONFLICT' })
      expect(await forwardPendingAlerts(edge.client, copy, 10, copyStream)).toEqual({ sent: 1, accepted: 1, duplicates: 0 })
      expect(copyStream.current.reason).toBe('conflict')
      expect(copyStream.epoch).not.toBe('0')
      expect(log.lines.some((line) => line.includes('OUTBOX_ERR_STREAM_RESTORED'))).toBe(true)
    } finally {
      copyDb.close()
    }
    const listed = await setup.hub.get<{ alerts: { seq: number; value: number }[] }>(`/v1/alerts?deviceId=${edge.identity.deviceId}`)
    expect(listed.body.alerts.map((a) => [a.seq, a.value])).toEqual([
      [1, 99],
      [1, 95],
    ])
    // The original alert sent again under any epoch is known by its content.
    const again = await edge.client.exchange(alertsExchange, { epoch: 'another-epoch', alerts: original.list(10).map((a) => ({ ...alertReportOf(a), contentSha256: alertContentSha256(a) })) })
    expect(again).toEqual({ accepted: 0, duplicates: 1, lastSeq: 0 })
    // A hash that is not the alert's: 400, nothing stored.
    const [stored] = original.list(1)
    await expect(edge.client.exchange(alertsExchange, { alerts: [{ ...alertReportOf(stored!), seq: 7, contentSha256: '0'.repeat(64) }] })).rejects.toMatchObject({ status: 400, hubCode: 'HUB_ERR_CONTENT_HASH_MISMATCH' })
  })
})
