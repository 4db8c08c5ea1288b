import type { DeviceHealth, DeviceId, FleetStatus, HealthSample, Liveness } from '../devices/device-repository.js'
import type { FleetEvent, FleetEventKind, FleetRepository, GroupSummary, HeartbeatInput, HeartbeatOutcome, StatusTransition } from './fleet-repository.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

/** Appends a fleet event (inside the caller's transaction). */
export function insertFleetEvent(db: SqliteDatabase, event: Omit<FleetEvent, 'id'>): void {
  db.prepare('INSERT INTO fleet_events (at, kind, device_id, details) VALUES (?, ?, ?, ?)').run(event.at, event.kind, event.deviceId, JSON.stringify(event.details))
}

/** Appends a status transition (inside the caller's transaction). */
export function insertTransition(db: SqliteDatabase, transition: StatusTransition): void {
  db.prepare('INSERT INTO device_status_transitions (device_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)').run(
    transition.deviceId,
    transition.at,
    transition.from,
    transition.to,
    transition.reason,
  )
}

interface EventRow {
  id: number
  at: number
  kind: string
  device_id: string
  details: string
}

const toEvent = (row: EventRow): FleetEvent => ({
  id: row.id,
  at: row.at,
  kind: row.kind as FleetEventKind,
  deviceId: row.device_id as DeviceId,
  details: JSON.parse(row.details) as Record<string, unknown>,
})

export class SqliteFleetRepository implements FleetRepository {
  private readonly statements

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      deviceState: db.prepare('SELECT status, liveness, heartbeat_count FROM devices WHERE id = ?'),
      updateDevice: db.prepare(
        "UPDATE devices SET liveness = 'online', last_heartbeat_at = @at, last_seen_at = max(coalesce(last_seen_at, 0), @at), heartbeat_count = heartbeat_count + 1, health = @health WHERE id = @id",
      ),
      putHealth: db.prepare('INSERT INTO device_health (device_id, slot, at, health) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, slot) DO UPDATE SET at = excluded.at, health = excluded.health'),
      insertEvent: db.prepare('INSERT INTO fleet_events (at, kind, device_id, details) VALUES (?, ?, ?, ?)'),
      insertTransition: db.prepare('INSERT INTO device_status_transitions (device_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)'),
      staleOnline: db.prepare("SELECT id, last_heartbeat_at FROM devices WHERE liveness = 'online' AND status = 'active' AND last_heartbeat_at < ?"),
      markOffline: db.prepare("UPDATE devices SET liveness = 'offline' WHERE id = ? AND liveness = 'online'"),
    }
  }

  async recordHeartbeats(heartbeats: readonly HeartbeatInput[], historyLength: number): Promise<HeartbeatOutcome[]> {
    const s = this.statements
    const run = this.db.transaction(() =>
      heartbeats.map((heartbeat): HeartbeatOutcome => {
        const state = s.deviceState.get(heartbeat.deviceId) as { status: string; liveness: string; heartbeat_count: number } | undefined
        const previous = (state?.liveness ?? 'never-seen') as Liveness
        if (state === undefined || state.status === 'revoked') return { deviceId: heartbeat.deviceId, previous, revoked: true }
        const health = JSON.stringify(heartbeat.health)
        s.updateDevice.run({ id: heartbeat.deviceId, at: heartbeat.at, health })
        s.putHealth.run(heartbeat.deviceId, state.heartbeat_count % historyLength, heartbeat.at, health)
        if (previous !== 'online') {
          const reason = previous === 'never-seen' ? 'first heartbeat' : 'heartbeat after being offline'
          s.insertTransition.run(heartbeat.deviceId, heartbeat.at, previous, 'online', reason)
          s.insertEvent.run(heartbeat.at, 'device.online', heartbeat.deviceId, JSON.stringify({ from: previous }))
        }
        return { deviceId: heartbeat.deviceId, previous, revoked: false }
      }),
    )
    return run.immediate()
  }

  async markOffline(cutoff: number, now: number): Promise<StatusTransition[]> {
    const s = this.statements
    const run = this.db.transaction(() => {
      const stale = s.staleOnline.all(cutoff) as { id: DeviceId; last_heartbeat_at: number }[]
      const transitions: StatusTransition[] = []
      for (const device of stale) {
        if (s.markOffline.run(device.id).changes !== 1) continue
        const transition: StatusTransition = { deviceId: device.id, at: now, from: 'online', to: 'offline', reason: 'missed heartbeats' }
        s.insertTransition.run(device.id, now, 'online', 'offline', transition.reason)
        s.insertEvent.run(now, 'device.offline', device.id, JSON.stringify({ lastHeartbeatAt: device.last_heartbeat_at, silentForMs: now - device.last_heartbeat_at }))
        transitions.push(transition)
      }
      return transitions
    })
    return run.immediate()
  }

  async healthHistory(deviceId: DeviceId, limit: number): Promise<HealthSample[]> {
    const rows = this.db.prepare('SELECT at, health FROM device_health WHERE device_id = ? ORDER BY at DESC, slot DESC LIMIT ?').all(deviceId, limit) as { at: number; health: string }[]
    return rows.map((row) => ({ at: row.at, health: JSON.parse(row.health) as DeviceHealth }))
  }

  async transitions(deviceId: DeviceId, limit: number): Promise<StatusTransition[]> {
    const rows = this.db
      .prepare('SELECT device_id, at, from_status, to_status, reason FROM device_status_transitions WHERE device_id = ? ORDER BY id DESC LIMIT ?')
      .all(deviceId, limit) as { device_id: string; at: number; from_status: string; to_status: string; reason: string }[]
    return rows.map((r) => ({ deviceId: r.device_id as DeviceId, at: r.at, from: r.from_status as FleetStatus, to: r.to_status as FleetStatus, reason: r.reason }))
  }

  async events(filter: { deviceId?: DeviceId; kind?: FleetEventKind; afterId?: number; limit: number }): Promise<FleetEvent[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM fleet_events
         WHERE (@deviceId IS NULL OR device_id = @deviceId) AND (@kind IS NULL OR kind = @kind) AND id > @afterId
         ORDER BY id DESC LIMIT @limit`,
      )
      .all({ deviceId: filter.deviceId ?? null, kind: filter.kind ?? null, afterId: filter.afterId ?? 0, limit: filter.limit }) as EventRow[]
    return rows.map(toEvent)
  }

  async groups(): Promise<GroupSummary[]> {
    const rows = this.db
      .prepare(
        `SELECT group_name, CASE WHEN status = 'revoked' THEN 'revoked' ELSE liveness END AS fleet_status, count(*) AS n
         FROM devices GROUP BY group_name, fleet_status ORDER BY group_name`,
      )
      .all() as { group_name: string; fleet_status: FleetStatus; n: number }[]
    const groups = new Map<string, GroupSummary>()
    for (const row of rows) {
      let group = groups.get(row.group_name)
      if (group === undefined) {
        group = { group: row.group_name, total: 0, counts: { online: 0, offline: 0, revoked: 0, 'never-seen': 0 } }
        groups.set(row.group_name, group)
      }
      group.counts[row.fleet_status] += row.n
      group.total += row.n
    }
    return [...groups.values()]
  }
}
