import { CloudosError } from '../../shared/errors.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { RolloutId, RolloutRecord, RolloutRepository, RolloutState, WaveRecord } from './rollout-repository.js'
import { evaluateWave, type WaveEvaluation } from './wave-evaluation.js'

export interface RolloutEngineOptions {
  rollouts: RolloutRepository
  audit: AuditLog
  clock: () => number
  /** Time a committed device has after its healthy window to send a heartbeat (the fleet offline window). */
  heartbeatGraceMs: number
  /** How often running rollouts are re-evaluated. */
  checkIntervalMs: number
}

/** Every member, whatever the fleet size: waves are evaluated whole. */
const ALL = Number.MAX_SAFE_INTEGER

/**
 * Moves rollouts along: evaluates the running wave of each running rollout
 * (on a timer, and after each device report), halts a rollout whose wave
 * fails too often, starts the next wave when one passes, completes the
 * rollout after the last. Operator actions (pause, resume, abort) go through
 * here too. Work on one rollout is serialised (one promise chain per id), and
 * every state change is a compare-and-set in storage, so two hub processes
 * on one database cannot both move the same rollout.
 */
export class RolloutEngine {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private readonly chains = new Map<string, Promise<unknown>>()

  constructor(private readonly options: RolloutEngineOptions) {}

  start(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch(() => {
          // A failed evaluation is retried on the next tick; the API reports state as stored.
        })
        .finally(() => (this.running = undefined))
    }, this.options.checkIntervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.running
    await Promise.allSettled([...this.chains.values()])
  }

  /** Evaluates every running rollout once (tests call it after moving their clock). */
  async tick(): Promise<void> {
    for (const id of await this.options.rollouts.idsInState(['running'])) await this.evaluate(id)
  }

  /** Evaluates one rollout's running wave, advancing or halting it as the rules say. */
  evaluate(id: RolloutId): Promise<void> {
    return this.serialised(id, () => this.step(id))
  }

  pause(id: RolloutId, actor: string): Promise<RolloutRecord> {
    return this.serialised(id, async () => {
      const now = this.options.clock()
      await this.transition(id, ['running'], 'pause', { state: 'paused', pausedAt: now, updatedAt: now })
      await this.options.audit.record('rollout.paused', actor, id)
      return this.load(id)
    })
  }

  resume(id: RolloutId, actor: string): Promise<RolloutRecord> {
    const resumed = this.serialised(id, async () => {
      const rollout = await this.load(id)
      const now = this.options.clock()
      // The wave's timeout does not count the time it stood paused.
      const pausedFor = rollout.pausedAt === null ? 0 : now - rollout.pausedAt
      const waves = rollout.waves.map((wave) => (wave.index === rollout.currentWave && wave.startedAt !== null ? { ...wave, startedAt: wave.startedAt + pausedFor } : wave))
      await this.transition(id, ['paused'], 'resume', { state: 'running', pausedAt: null, waves, updatedAt: now })
      await this.options.audit.record('rollout.resumed', actor, id, { pausedForMs: pausedFor })
      return this.load(id)
    })
    return resumed.then(async () => {
      await this.evaluate(id)
      return this.load(id)
    })
  }

  abort(id: RolloutId, actor: string, reason: string): Promise<RolloutRecord> {
    return this.serialised(id, async () => {
      const now = this.options.clock()
      await this.transition(id, ['running', 'paused', 'halted'], 'abort', { state: 'aborted', finishedAt: now, reason, updatedAt: now })
      await this.options.audit.record('rollout.aborted', actor, id, { reason })
      return this.load(id)
    })
  }

  private async step(id: RolloutId): Promise<void> {
    const { rollouts, audit, clock, heartbeatGraceMs } = this.options
    for (;;) {
      const rollout = await rollouts.findById(id)
      if (rollout === undefined || rollout.state !== 'running') return
      const wave = rollout.waves[rollout.currentWave] as WaveRecord
      const now = clock()
      const members = await rollouts.members(id, { wave: wave.index, limit: ALL })
      const evaluation = evaluateWave(members, wave, { now, heartbeatGraceMs })
      if (evaluation.decision === 'wait') return
      const waves = [...rollout.waves]
      if (evaluation.decision === 'halt') {
        waves[wave.index] = { ...wave, state: 'failed', finishedAt: now }
        const reason = `wave ${wave.index + 1}: ${evaluation.failures} of ${evaluation.size} devices failed (${percent(evaluation.failureRate)}, more than the ${percent(wave.maxFailureRate)} allowed)`
        if (!(await rollouts.update(id, ['running'], { state: 'halted', waves, finishedAt: now, reason, updatedAt: now }))) continue
        await audit.record('rollout.halted', 'hub', id, { wave: wave.index, reason, ...waveFacts(evaluation) })
        return
      }
      waves[wave.index] = { ...wave, state: 'passed', finishedAt: now }
      const next = rollout.waves[wave.index + 1]
      if (next === undefined) {
        if (!(await rollouts.update(id, ['running'], { state: 'completed', waves, finishedAt: now, updatedAt: now }))) continue
        await audit.record('rollout.wave_passed', 'hub', id, { wave: wave.index, ...waveFacts(evaluation) })
        await audit.record('rollout.completed', 'hub', id, { waves: waves.length })
        return
      }
      waves[next.index] = { ...next, state: 'running', startedAt: now }
      if (!(await rollouts.update(id, ['running'], { waves, currentWave: next.index, updatedAt: now }))) continue
      await audit.record('rollout.wave_passed', 'hub', id, { wave: wave.index, ...waveFacts(evaluation) })
      await audit.record('rollout.wave_started', 'hub', id, { wave: next.index, percent: next.percent, devices: next.deviceCount })
    }
  }

  private async load(id: RolloutId): Promise<RolloutRecord> {
    const rollout = await this.options.rollouts.findById(id)
    if (rollout === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no rollout ${id}`)
    return rollout
  }

  private async transition(id: RolloutId, from: readonly RolloutState[], action: string, change: Parameters<RolloutRepository['update']>[2]): Promise<void> {
    const rollout = await this.load(id)
    if (!from.includes(rollout.state) || !(await this.options.rollouts.update(id, from, change))) {
      throw new CloudosError('ROLLOUT_ERR_INVALID_STATE', `cannot ${action} rollout ${id}: it is ${rollout.state} (${action} needs ${from.join(' or ')})`, { state: rollout.state })
    }
  }

  private serialised<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id) ?? Promise.resolve()
    const result = previous.then(work, work)
    const settled = result.catch(() => undefined)
    this.chains.set(id, settled)
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id)
    })
    return result
  }
}

const percent = (rate: number) => `${Math.round(rate * 1000) / 10}%`

const waveFacts = (evaluation: WaveEvaluation) => ({ devices: evaluation.size, failures: evaluation.failures, failureRate: evaluation.failureRate, outcomes: evaluation.outcomes })
