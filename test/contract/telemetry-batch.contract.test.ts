import { describe, expect, it } from 'vitest'
import { fillOfflineBacklog } from '../../bench/sync/sync-setup.js'
import { OutboxStore } from '../../edge/outbox/outbox-store.js'
import { OutboxUploader } from '../../edge/outbox/uploader.js'
import { StreamEpochs } from '../../edge/outbox/stream-epochs.js'
import { sha256Hex } from '../../shared/protocol/upload-stream.js'
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

  const backlogDb = (name: string, seed = 7) => {
    const dir = `${setup.tmp.path}/${name}`
    const backlog = fillOfflineBacklog(dir, { hours: 0.1, sensors: 2, readingsPerSecond: 5, seed })
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

  it('a restored or copied database: the same seq with other content is 409 HUB_ERR_STREAM_CONFLICT; the uploader starts a new epoch, content the hub holds is a duplicate in any epoch, nothing is lost', async () => {
    const edge = await setup.enrolEdge()
    const upload = (db: ReturnType<typeof openEdgeDatabase>, dataDir: string, log = quietLogger()) => {
      const counters = new CountersStore(db)
      const stream = new StreamEpochs({ db, dataDir, counters, log })
      stream.open()
      const uploader = new OutboxUploader({ client: edge.client, outbox: new OutboxStore(db), counters, db, log, droppedReadings: () => 0, stream })
      return { stream, run: () => uploader.uploadPending() }
    }
    const first = backlogDb('first')
    const second = backlogDb('second-same-seqs', 8)
    try {
      const original = upload(first.db, `${setup.tmp.path}/first`)
      expect(await original.run()).toMatchObject({ batches: first.backlog.batches, duplicates: 0 })
      // Another database of the same device: the same seqs, other readings.
      const log = quietLogger()
      const copy = upload(second.db, `${setup.tmp.path}/second-same-seqs`, log)
      expect(await copy.run()).toMatchObject({ batches: second.backlog.batches, duplicates: 0, refused: 0 })
      expect(copy.stream.current.reason).toBe('conflict')
      expect(log.lines.some((line) => line.includes('OUTBOX_ERR_STREAM_RESTORED'))).toBe(true)
      const state = await setup.hub.get<{ readings: number; batches: number }>(`/v1/devices/${edge.identity.deviceId}/telemetry`)
      expect(state.body).toMatchObject({ readings: first.backlog.readings + second.backlog.readings, batches: first.backlog.batches + second.backlog.batches })

      // The first database's batches sent again under the new epoch: known by content, stored once.
      const bytes = new OutboxStore(first.db).get(1)!.bytes
      const again = await edge.client.exchange(batchUploadExchange, bytes, { query: { epoch: copy.stream.epoch, contentSha256: sha256Hex(bytes), previousSeq: 0 } })
      expect(again).toMatchObject({ seq: 1, duplicate: true })
      // A hash that is not the body's: 400, nothing stored.
      const other = new OutboxStore(second.db).get(1)!.bytes
      await expect(edge.client.exchange(batchUploadExchange, other, { query: { epoch: '0', contentSha256: sha256Hex('not these bytes') } })).rejects.toMatchObject({ status: 400, hubCode: 'HUB_ERR_CONTENT_HASH_MISMATCH' })
      // The conflict itself, as the hub answers it: new content under a held (epoch, seq).
      const third = backlogDb('third-same-seqs', 9)
      try {
        const fresh = new OutboxStore(third.db).get(1)!.bytes
        await expect(edge.client.exchange(batchUploadExchange, fresh, { query: { epoch: '0', contentSha256: sha256Hex(fresh) } })).rejects.toMatchObject({
          status: 409,
          hubCode: 'HUB_ERR_STREAM_CONFLICT',
          body: { details: { epoch: '0', seq: 1, sentSha256: sha256Hex(fresh), heldSha256: sha256Hex(bytes) } },
        })
      } finally {
        third.db.close()
      }
    } finally {
      first.db.close()
      second.db.close()
    }
  })
})
