import type { OtaDeviceState } from '../../shared/protocol/ota.js'
import { type DeviceId, type Liveness } from '../devices/device-repository.js'
import { type ReleaseId } from './release-repository.js'
import { ACTIVE_ROLLOUT_STATES, type RolloutChange, type RolloutDeviceChange, type RolloutDeviceRecord, type RolloutId, type RolloutMember, type RolloutRecord, type RolloutRepository, type RolloutState, type RolloutTarget, type WaveRecord } from './rollout-repository.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

interface RolloutRow {
  id: string
  release_id: string
  target: string
  allow_downgrade: number
  state: string
  current_wave: number
  waves: string
  created_by: string
  created_at: number
  updated_at: number
  paused_at: number | null
  finished_at: number | null
  reason: string | null
}

interface MemberRow {
  rollout_id: string
  device_id: string
  wave: number
  state: string
  code: string | null
  reason: string | null
  running_version: string | null
  updated_at: number
  reported_at: number | null
  committed_at: number | null
  liveness?: string | null
  last_heartbeat_at?: number | null
}

const toRollout = (row: RolloutRow): RolloutRecord => ({
  id: row.id as RolloutId,
  releaseId: row.release_id as ReleaseId,
  target: JSON.parse(row.target) as RolloutTarget,
  allowDowngrade: row.allow_downgrade === 1,
  state: row.state as RolloutState,
  currentWave: row.current_wave,
  waves: JSON.parse(row.waves) as WaveRecord[],
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  pausedAt: row.paused_at,
  finishedAt: row.finished_at,
  reason: row.reason,
})

const toMember = (row: MemberRow): RolloutDeviceRecord => ({
  rolloutId: row.rollout_id as RolloutId,
  deviceId: row.device_id as DeviceId,
  wave: row.wave,
  state: row.state as OtaDeviceState,
  code: row.code,
  reason: row.reason,
  runningVersion: row.running_version,
  updatedAt: row.updated_at,
  reportedAt: row.reported_at,
  committedAt: row.committed_at,
})

const FINAL_STATES: readonly OtaDeviceState[] = ['committed', 'failed', 'rolled-back']

const ACTIVE_SQL = ACTIVE_ROLLOUT_STATES.map((s) => `'${s}'`).join(', ')

/** Column names of RolloutChange keys. */
const changeColumns: Record<Exclude<keyof RolloutChange, 'updatedAt'>, string> = {
  state: 'state',
  currentWave: 'current_wave',
  waves: 'waves',
  pausedAt: 'paused_at',
  finishedAt: 'finished_at',
  reason: 'reason',
}

export class SqliteRolloutRepository implements RolloutRepository {
  private readonly statements

  /**
   * @param progressDb the hub's synchronous=NORMAL connection (see
   * SqliteHubStore): a device's intermediate steps (downloading ... trial)
   * are written there, without an fsync that would block the event loop once
   * per report across a fleet. A power cut may lose the latest of those steps
   * (the device reports its next one anyway); final outcomes, which the halt
   * rule counts, are written on `db` (synchronous=FULL).
   */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly progressDb: SqliteDatabase = db,
  ) {
    const recordDeviceState = `UPDATE rollout_devices SET state = @state, code = @code, reason = @reason, running_version = @runningVersion, reported_at = @reportedAt,
           updated_at = @updatedAt, committed_at = coalesce(@committedAt, committed_at)
         WHERE rollout_id = @rolloutId AND device_id = @deviceId AND state = @from`
    this.statements = {
      findById: db.prepare('SELECT * FROM rollouts WHERE id = ?'),
      member: db.prepare('SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id = ?'),
      latestForDevice: db.prepare(
        `SELECT r.*, m.rollout_id AS m_rollout_id FROM rollout_devices m JOIN rollouts r ON r.id = m.rollout_id
         WHERE m.device_id = ? ORDER BY r.created_at DESC, r.id DESC LIMIT 1`,
      ),
      recordFinalState: db.prepare(recordDeviceState),
      recordProgress: progressDb.prepare(recordDeviceState),
      isOffered: db.prepare(
        `SELECT r.current_wave, m.wave, r.state FROM rollout_devices m JOIN rollouts r ON r.id = m.rollout_id
         WHERE m.device_id = ? AND r.release_id = ?`,
      ),
    }
  }

  async create(rollout: RolloutRecord, members: readonly { deviceId: DeviceId; wave: number }[]): Promise<{ created: true } | { created: false; busyIn: RolloutId[] }> {
    const run = this.db.transaction((): { created: true } | { created: false; busyIn: RolloutId[] } => {
      const busy = this.db.prepare(
        `SELECT DISTINCT m.rollout_id AS id FROM rollout_devices m JOIN rollouts r ON r.id = m.rollout_id
         WHERE m.device_id = ? AND r.state IN (${ACTIVE_SQL})`,
      )
      const busyIn = new Set<string>()
      for (const member of members) for (const row of busy.all(member.deviceId) as { id: string }[]) busyIn.add(row.id)
      if (busyIn.size > 0) return { created: false, busyIn: [...busyIn].sort() as RolloutId[] }
      this.db
        .prepare(
          `INSERT INTO rollouts (id, release_id, target, allow_downgrade, state, current_wave, waves, created_by, created_at, updated_at, paused_at, finished_at, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          rollout.id,
          rollout.releaseId,
          JSON.stringify(rollout.target),
          rollout.allowDowngrade ? 1 : 0,
          rollout.state,
          rollout.currentWave,
          JSON.stringify(rollout.waves),
          rollout.createdBy,
          rollout.createdAt,
          rollout.updatedAt,
          rollout.pausedAt,
          rollout.finishedAt,
          rollout.reason,
        )
      const insert = this.db.prepare("INSERT INTO rollout_devices (rollout_id, device_id, wave, state, updated_at) VALUES (?, ?, ?, 'pending', ?)")
      for (const member of members) insert.run(rollout.id, member.deviceId, member.wave, rollout.createdAt)
      return { created: true }
    })
    return run.immediate()
  }

  async findById(id: RolloutId): Promise<RolloutRecord | undefined> {
    const row = this.statements.findById.get(id) as RolloutRow | undefined
    return row && toRollout(row)
  }

  async list(filter: { state?: RolloutState; limit: number; offset?: number }): Promise<RolloutRecord[]> {
    const rows =
      filter.state === undefined
        ? this.db.prepare('SELECT * FROM rollouts ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?').all(filter.limit, filter.offset ?? 0)
        : this.db.prepare('SELECT * FROM rollouts WHERE state = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?').all(filter.state, filter.limit, filter.offset ?? 0)
    return (rows as RolloutRow[]).map(toRollout)
  }

  async update(id: RolloutId, fromStates: readonly RolloutState[], change: RolloutChange): Promise<boolean> {
    const sets = ['updated_at = @updatedAt']
    const params: Record<string, unknown> = { id, updatedAt: change.updatedAt }
    for (const [key, column] of Object.entries(changeColumns) as [keyof typeof changeColumns, string][]) {
      if (!(key in change)) continue
      const value = change[key]
      sets.push(`${column} = @${key}`)
      params[key] = key === 'waves' ? JSON.stringify(value) : value
    }
    const states = fromStates.map((_, i) => `@from${i}`)
    fromStates.forEach((state, i) => (params[`from${i}`] = state))
    const result = this.db.prepare(`UPDATE rollouts SET ${sets.join(', ')} WHERE id = @id AND state IN (${states.join(', ')})`).run(params)
    return result.changes === 1
  }

  async members(id: RolloutId, filter: { wave?: number; state?: OtaDeviceState; limit: number; offset?: number }): Promise<RolloutMember[]> {
    const where = ['m.rollout_id = @id']
    const params: Record<string, unknown> = { id, limit: filter.limit, offset: filter.offset ?? 0 }
    if (filter.wave !== undefined) {
      where.push('m.wave = @wave')
      params.wave = filter.wave
    }
    if (filter.state !== undefined) {
      where.push('m.state = @state')
      params.state = filter.state
    }
    const rows = this.db
      .prepare(
        `SELECT m.*, d.liveness, d.last_heartbeat_at FROM rollout_devices m LEFT JOIN devices d ON d.id = m.device_id
         WHERE ${where.join(' AND ')} ORDER BY m.wave, m.device_id LIMIT @limit OFFSET @offset`,
      )
      .all(params) as MemberRow[]
    return rows.map((row) => ({ ...toMember(row), liveness: (row.liveness ?? 'never-seen') as Liveness, lastHeartbeatAt: row.last_heartbeat_at ?? null }))
  }

  async member(id: RolloutId, deviceId: DeviceId): Promise<RolloutDeviceRecord | undefined> {
    const row = this.statements.member.get(id, deviceId) as MemberRow | undefined
    return row && toMember(row)
  }

  async latestForDevice(deviceId: DeviceId): Promise<{ rollout: RolloutRecord; member: RolloutDeviceRecord } | undefined> {
    const row = this.statements.latestForDevice.get(deviceId) as RolloutRow | undefined
    if (row === undefined) return undefined
    const member = this.statements.member.get(row.id, deviceId) as MemberRow
    return { rollout: toRollout(row), member: toMember(member) }
  }

  async recordDeviceState(id: RolloutId, deviceId: DeviceId, from: OtaDeviceState, change: RolloutDeviceChange): Promise<boolean> {
    const statement = FINAL_STATES.includes(change.state) ? this.statements.recordFinalState : this.statements.recordProgress
    return statement.run({ rolloutId: id, deviceId, from, ...change }).changes === 1
  }

  async isOffered(releaseId: ReleaseId, deviceId: DeviceId): Promise<boolean> {
    const rows = this.statements.isOffered.all(deviceId, releaseId) as { current_wave: number; wave: number; state: string }[]
    return rows.some((row) => row.wave <= row.current_wave)
  }

  async idsInState(states: readonly RolloutState[]): Promise<RolloutId[]> {
    if (states.length === 0) return []
    const rows = this.db.prepare(`SELECT id FROM rollouts WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY created_at, id`).all(...states) as { id: string }[]
    return rows.map((row) => row.id as RolloutId)
  }
}
