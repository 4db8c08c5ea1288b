import { describe, expect, it } from 'vitest'
import { fillOfflineBacklog } from '../../bench/sync/sync-setup.js'
import { OutboxStore } from '../../edge/outbox/outbox-store.js'
import { OutboxUploader } from '../../edge/outbox/uploader.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { CloudosError } from '../../shared/errors.js'
import { TELEMETRY_BATCHES_PATH, batchUploadExchange } from '../../shared/protocol/telemetry.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { quietLogger, startMisbehavingHub, useContractSetup } from './contract-fixture.js'

class CrashAfterAck extends Error {}

describe('contract: telemetry batch upload (POST /v1/telemetry/batches)', () => {
  const setup = useContractSetup()

  const backlogDb = (name: string) => {
    const dir = `${setup.tmp.path}/${name}`
    const backlog = fillOfflineBacklog(dir, { hours: 0.1, sensors: 2, readingsPerSecond: 5, seed: 7 })
    expect(backlog.batches).toBeGreaterThan(1)
    return { db: openEdgeDatabase({ dataDir: dir, synchronous: 'normal' }), backlog }
  }

  it('the outbox uploader sends sealed batches to the real hub; each answer matches the shared schema; a batch whose 200 was lost is answered duplicate', async () => {
    const edge = await setup.enrolEdge()
    const { db, backlog } = backlogDb('backlog')
    try {
      let crashOnce = true
      const uploader = new OutboxUploader({
        client: edge.client,
        outbox: new OutboxStore(db),
        counters: new CountersStore(db),
        db,
        log: quietLogger(),
        droppedReadings: () => 0,
        // The hub committed batch 1; the edge "dies" before recording it.
        afterHubAck: () => {
          if (!crashOnce) return
          crashOnce = false
          throw new CrashAfterAck()
        },
      })
      await expect(uploader.uploadPending()).rejects.toBeInstanceOf(CrashAfterAck)
      const result = await uploader.uploadPending()
      expect(result).toMatchObject({ batches: backlog.batches, readings: backlog.readings, duplicates: 1, refused: 0 })
      const answers = edge.client.answersTo(batchUploadExchange)
      expect(answers).toHaveLength(backlog.batches + 1)
      expect(answers[0]).toMatchObject({ seq: 1, duplicate: false, lastSeq: 1 })
      expect(answers[1]).toMatchObject({ seq: 1, duplicate: true, lastSeq: 1 })
      expect(answers.at(-1)).toMatchObject({ seq: backlog.batches, duplicate: false, lastSeq: backlog.batches })
      const state = await setup.hub.get<{ lastSeq: number; readings: number }>(`/v1/devices/${edge.identity.deviceId}/telemetry`)
      expect(state.body).toMatchObject({ lastSeq: backlog.batches, readings: backlog.readings })
    } finally {
      db.close()
    }
  })

  it('a hub answering the wrong shape: EDGE_ERR_HUB_ANSWER_INVALID is thrown to the link (which backs off), and the batch stays pending', async () => {
    const standIn = await startMisbehavingHub([{ method: 'POST', path: TELEMETRY_BATCHES_PATH, answer: () => ({ seq: '1', duplicate: 'no' }) }])
    const { db } = backlogDb('backlog-bad')
    try {
      const outbox = new OutboxStore(db)
      const pendingBefore = outbox.firstUnsent()?.seq
      const uploader = new OutboxUploader({
        client: new HubClient({ url: standIn.url, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'dev-stand-in', privateKey: generateDeviceKeyPair().privateKey } }),
        outbox,
        counters: new CountersStore(db),
        db,
        log: quietLogger(),
        droppedReadings: () => 0,
      })
      const err = await uploader.uploadPending().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(CloudosError)
      expect((err as CloudosError).code).toBe('EDGE_ERR_HUB_ANSWER_INVALID')
      expect(outbox.firstUnsent()?.seq).toBe(pendingBefore)
    } finally {
      db.close()
      await standIn.app.close()
    }
  })
})
