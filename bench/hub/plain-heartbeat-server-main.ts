/**
 * The baseline of `cloudos bench hub`: what a user would otherwise write, a
 * plain fastify app over better-sqlite3 with no authentication at all. Same
 * body schema, same writes per heartbeat (device row + health history row,
 * one transaction per request, the obvious code), same fleet-list query, on a
 * copy of the hub's database. Started with `--synchronous FULL` (the hub's
 * durability) or `NORMAL` (no fsync per commit).
 */
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import type { PlainServerJob, FromPlainServer } from './hub-bench-ipc.js'
import { sendToParent } from '../processes/child-ipc.js'
import { HeartbeatBody } from '../../shared/protocol/heartbeat.js'

process.on('disconnect', () => process.exit(0))
process.on('message', (message: { type: 'job'; job: PlainServerJob } | { type: 'exit' }) => {
  if (message.type === 'exit') process.exit(0)
  else start(message.job).catch((err: unknown) => sendToParent<FromPlainServer>({ type: 'error', message: (err as Error).message }))
})

async function start(job: PlainServerJob): Promise<void> {
  const db = new Database(job.dbPath)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${job.synchronous}`)
  const bump = db.prepare('UPDATE devices SET last_seen_at = ?, last_heartbeat_at = ?, health = ?, heartbeat_count = heartbeat_count + 1 WHERE id = ? RETURNING heartbeat_count')
  const keep = db.prepare('INSERT INTO device_health (device_id, slot, at, health) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, slot) DO UPDATE SET at = excluded.at, health = excluded.health')
  const heartbeat = db.transaction((id: string, at: number, health: string) => {
    const row = bump.get(at, at, health, id) as { heartbeat_count: number } | undefined
    if (row !== undefined) keep.run(id, row.heartbeat_count % 1000, at, health)
    return row !== undefined
  })
  const list = db.prepare('SELECT * FROM devices ORDER BY enrolled_at, id LIMIT ?')

  const app = Fastify({ logger: false })
  app.post<{ Params: { deviceId: string } }>('/v1/devices/:deviceId/heartbeat', { schema: { body: HeartbeatBody } }, async (request, reply) => {
    if (!heartbeat(request.params.deviceId, Date.now(), JSON.stringify(request.body))) return reply.status(404).send({ error: 'no such device' })
    return { ok: true, heartbeatIntervalSeconds: 10 }
  })
  app.get<{ Querystring: { limit?: string } }>('/v1/devices', async (request) => {
    const rows = list.all(Number(request.query.limit ?? 100)) as Record<string, unknown>[]
    const devices = rows.map((row) => ({
      ...row,
      facts: JSON.parse(row.facts as string) as unknown,
      labels: JSON.parse(row.labels as string) as unknown,
      health: row.health === null ? null : (JSON.parse(row.health as string) as unknown),
    }))
    return { count: devices.length, devices }
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  sendToParent<FromPlainServer>({ type: 'ready', url })
}
