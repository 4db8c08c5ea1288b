import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { STREAM_MARKER_FILE, StreamEpochs } from '../../edge/outbox/stream-epochs.js'
import { OutboxStore } from '../../edge/outbox/outbox-store.js'
import { AlertStore } from '../../edge/store/alert-store.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { quietLogger } from '../contract/contract-fixture.js'

// The edge's upload stream epoch against its marker, on real SQLite files:
// what each way of getting an old or foreign database in the data dir does.
describe('stream epochs: the database and the marker outside it must agree', () => {
  const open = (dataDir: string) => {
    const db = openEdgeDatabase({ dataDir, synchronous: 'normal' })
    const log = quietLogger()
    const epochs = new StreamEpochs({ db, dataDir, counters: new CountersStore(db), log, markerIntervalMs: 0 })
    return { db, log, epochs, alerts: new AlertStore(db), outbox: new OutboxStore(db) }
  }
  /** One acknowledged alert and one acknowledged batch (as the hub link records them). */
  const acknowledgeOne = (edge: ReturnType<typeof open>) => {
    const alert = edge.alerts.raise({ sensorId: 's', metric: 'm', severity: 'critical', rule: 'r', value: 1, message: 'x' })
    edge.alerts.markForwarded(alert.seq, alert.seq)
    const seq = edge.db.transaction(() => {
      const next = edge.outbox.nextSeq()
      edge.outbox.insert({ seq: next, tsMin: 1, tsMax: 1, readingCount: 1, byteSize: 1, bytes: Buffer.from([next]), sealedAt: 1, series: [] })
      return next
    })()
    edge.outbox.markUploaded(seq, 2)
    edge.epochs.acknowledged()
  }

  it('a first start writes the marker; a restart with nothing changed keeps the epoch', () => {
    const dir = useTempDir()
    const first = open(dir)
    first.epochs.open()
    expect(first.epochs.epoch).toBe('0')
    acknowledgeOne(first)
    expect(JSON.parse(readFileSync(join(dir, STREAM_MARKER_FILE), 'utf8'))).toEqual({ version: 1, epoch: '0', batchSeq: 1, alertSeq: 1 })
    first.db.close()
    const again = open(dir)
    again.epochs.open()
    expect(again.epochs.history().map((e) => e.reason)).toEqual(['initial'])
    again.db.close()
  })

  it('a database restored from before acknowledged seqs starts a new epoch (restored), counted and logged', () => {
    const dir = useTempDir()
    const edge = open(dir)
    edge.epochs.open()
    edge.db.close()
    copyFileSync(join(dir, 'edge.db'), join(dir, 'backup.db'))
    const running = open(dir)
    running.epochs.open()
    acknowledgeOne(running)
    running.db.close()
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `edge.db${suffix}`), { force: true })
    copyFileSync(join(dir, 'backup.db'), join(dir, 'edge.db'))
    const restored = open(dir)
    restored.epochs.open()
    expect(restored.epochs.current.reason).toBe('restored')
    expect(restored.epochs.epoch).not.toBe('0')
    expect(restored.outbox.confirmedSeq()).toBe(0)
    expect(new CountersStore(restored.db).all()['stream_epoch.restored']).toBe(1)
    expect(restored.log.lines.some((l) => l.includes('OUTBOX_ERR_STREAM_RESTORED'))).toBe(true)
    expect(JSON.parse(readFileSync(join(dir, STREAM_MARKER_FILE), 'utf8')).epoch).toBe(restored.epochs.epoch)
    restored.db.close()
  })

  it('a marker naming an epoch the database never had (a backup from before an epoch switch) is a restore too', () => {
    const dir = useTempDir()
    const edge = open(dir)
    edge.epochs.open()
    edge.db.close()
    writeFileSync(join(dir, STREAM_MARKER_FILE), JSON.stringify({ version: 1, epoch: 'later-epoch', batchSeq: 0, alertSeq: 0 }))
    const restored = open(dir)
    restored.epochs.open()
    expect(restored.epochs.current).toMatchObject({ reason: 'restored', details: { markerEpoch: 'later-epoch' } })
    restored.db.close()
  })

  it('a marker naming an older epoch of this database (stopped between the two writes of a switch) is completed silently', () => {
    const dir = useTempDir()
    const edge = open(dir)
    edge.epochs.open()
    edge.epochs.conflict({ seq: 1 })
    const current = edge.epochs.epoch
    edge.db.close()
    writeFileSync(join(dir, STREAM_MARKER_FILE), JSON.stringify({ version: 1, epoch: '0', batchSeq: 0, alertSeq: 0 }))
    const again = open(dir)
    again.epochs.open()
    expect(again.epochs.epoch).toBe(current)
    expect(again.epochs.history().map((e) => e.reason)).toEqual(['initial', 'conflict'])
    again.db.close()
  })

  it('a missing marker: written silently on the first start that never wrote one (an upgrade), a new epoch once one was written', () => {
    const dir = useTempDir()
    const edge = open(dir)
    acknowledgeOne(edge)
    // No open() yet: as an edge upgraded from before markers, with acknowledged data.
    rmSync(join(dir, STREAM_MARKER_FILE), { force: true })
    edge.db.prepare('UPDATE stream_epochs SET marker_written = 0').run()
    edge.epochs.open()
    expect(edge.epochs.history().map((e) => e.reason)).toEqual(['initial'])
    edge.db.close()
    rmSync(join(dir, STREAM_MARKER_FILE))
    const copied = open(dir)
    copied.epochs.open()
    expect(copied.epochs.current.reason).toBe('marker-missing')
    copied.db.close()
  })
})
