import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Logger } from '../../shared/log/logger.js'
import type { ErrorCode } from '../../shared/errors.js'
import type { OtaConfig } from '../../shared/config/edge-config-schema.js'
import { SWITCH_EXIT_CODE, otaPaths } from './ota-paths.js'
import { ReportOutbox } from './report-outbox.js'
import { addRolledBack } from './rolled-back.js'
import { readSlotMarker, readSlotState, readSwitchRequest, slotBootable, writeSlotState, type SlotName, type SlotState } from './slot-state.js'
import { checkTrialHealth, readingsStored, type ChildEndpoints } from './trial-health.js'

export interface SupervisorOptions {
  dataDir: string
  /** `cloudos edge` arguments (after `edge`), passed to every child. */
  edgeArgs: readonly string[]
  config: OtaConfig
  /** The installation the supervisor runs from: the factory slot. */
  factoryRoot: string
  log: Logger
  /**
   * The script each child runs, relative to the slot's root, with `edge` and
   * `edgeArgs` (default `bin/cloudos.js`). Set by code on the device only
   * (a test entry point): it chooses what code runs.
   */
  childEntry?: string
  /** Receives the child's stdout lines (default: copied to our stdout). */
  onChildLine?: (line: string) => void
}

const MAX_RESTART_DELAY_MS = 30_000

/**
 * Runs `cloudos edge` from the active slot as a child and keeps it running:
 * restarts it when it exits, switches slots when the edge asks (exit code
 * 75 after installing into the inactive slot), watches a new version through
 * its trial window and commits it or rolls back (crash loop, failed health
 * check, too many interrupted trials). Forwards SIGTERM/SIGINT/SIGHUP.
 * Every decision is first written to the atomic slot state file, so a power
 * cut at any point leaves a bootable slot (docs/operations.md).
 */
export class Supervisor {
  readonly #o: SupervisorOptions
  readonly #outbox: ReportOutbox
  #child: ChildProcess | undefined
  #endpoints: ChildEndpoints | undefined
  #crashes: number[] = []
  #restartDelayMs: number
  #stopping = false
  #trialTimer: NodeJS.Timeout | undefined
  #restartTimer: NodeJS.Timeout | undefined
  #stored: number | undefined
  /** A child the supervisor itself stopped (rollback): its exit is not a crash. */
  #stoppedOnPurpose: ChildProcess | undefined
  #done!: () => void
  readonly #finished = new Promise<void>((resolve) => (this.#done = resolve))

  constructor(options: SupervisorOptions) {
    this.#o = options
    this.#outbox = new ReportOutbox(options.dataDir)
    this.#restartDelayMs = options.config.restartDelayMs
  }

  /** Starts the edge; resolves when the supervisor has stopped. */
  run(): Promise<void> {
    this.#recoverAtStart()
    this.#launch()
    return this.#finished
  }

  /** Forwards `signal` to the edge and stops once it has exited. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.#stopping = true
    clearTimeout(this.#trialTimer)
    clearTimeout(this.#restartTimer)
    if (this.#child === undefined || this.#child.exitCode !== null || this.#child.signalCode !== null) this.#done()
    else this.#child.kill(signal)
  }

  forward(signal: NodeJS.Signals): void {
    this.#child?.kill(signal)
  }

  /** After a restart (or power cut): count an interrupted trial, apply a pending switch, make sure the active slot boots. */
  #recoverAtStart(): void {
    const { dataDir, config, log } = this.#o
    let state = readSlotState(dataDir)
    if (state.trial !== null) {
      const trial = { ...state.trial, boots: state.trial.boots + 1 }
      state = { ...state, trial }
      writeSlotState(dataDir, state)
      if (trial.boots > config.maxTrialBoots) {
        this.#rollback('OTA_ERR_CRASH_LOOP', `the trial of ${trial.version} was interrupted ${trial.boots - 1} times (power cuts or supervisor restarts)`)
        state = readSlotState(dataDir)
      }
    }
    this.#applySwitchRequest()
    state = readSlotState(dataDir)
    if (!slotBootable(dataDir, state.active)) {
      const fallback: SlotName = state.previous !== null && slotBootable(dataDir, state.previous) ? state.previous : 'factory'
      log.error(`slot ${state.active} is not installed completely: booting ${fallback}`)
      if (state.trial !== null) this.#rollback('OTA_ERR_INSTALL_FAILED', `slot ${state.active} is incomplete`)
      else writeSlotState(dataDir, { active: fallback, previous: null, trial: null, updatedAt: Date.now() })
    }
  }

  /** Applies switch-request.json: the new slot becomes active on trial. Idempotent (a power cut between steps is safe). */
  #applySwitchRequest(): boolean {
    const { dataDir, log } = this.#o
    const request = readSwitchRequest(dataDir)
    if (request === undefined) return false
    const state = readSlotState(dataDir)
    let applied = false
    if (state.trial === null && request.slot !== state.active && slotBootable(dataDir, request.slot)) {
      const next: SlotState = {
        active: request.slot,
        previous: state.active,
        trial: { slot: request.slot, version: request.version, releaseId: request.releaseId, rolloutId: request.rolloutId, startedAt: Date.now(), boots: 0 },
        updatedAt: Date.now(),
      }
      writeSlotState(dataDir, next)
      this.#outbox.add({ rolloutId: request.rolloutId, releaseId: request.releaseId, state: 'trial', runningVersion: request.version, at: Date.now() })
      log.info(`switched to slot ${request.slot} (${request.version}) on trial; previous slot ${state.active}`)
      applied = true
    }
    rmSync(otaPaths(dataDir).switchRequest, { force: true })
    return applied
  }

  #slotRoot(slot: SlotName): string {
    return slot === 'factory' ? this.#o.factoryRoot : otaPaths(this.#o.dataDir).slot(slot)
  }

  #slotVersion(slot: SlotName): string {
    if (slot !== 'factory') return readSlotMarker(this.#o.dataDir, slot)?.version ?? 'unknown'
    try {
      return (JSON.parse(readFileSync(join(this.#o.factoryRoot, 'package.json'), 'utf8')) as { version: string }).version
    } catch {
      return 'unknown'
    }
  }

  #launch(): void {
    if (this.#stopping) return
    const { dataDir, log, factoryRoot } = this.#o
    const state = readSlotState(dataDir)
    const root = this.#slotRoot(state.active)
    // A runtime bundle carries the build, not its dependencies: the slot uses the factory's.
    const modules = join(root, 'node_modules')
    if (state.active !== 'factory' && !existsSync(modules)) {
      rmSync(modules, { force: true })
      symlinkSync(join(factoryRoot, 'node_modules'), modules, 'dir')
    }
    this.#endpoints = undefined
    const child = spawn(process.execPath, [join(root, this.#o.childEntry ?? join('bin', 'cloudos.js')), 'edge', ...this.#o.edgeArgs], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, CLOUDOS_OTA_SLOT: state.active, CLOUDOS_OTA_FACTORY_ROOT: factoryRoot },
    })
    this.#child = child
    log.info(`started the edge from slot ${state.active} (${this.#slotVersion(state.active)}), pid ${String(child.pid)}`)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"event":"edge.ready"')) {
        const ready = JSON.parse(line) as ChildEndpoints
        this.#endpoints = { httpUrl: ready.httpUrl, mqttPort: ready.mqttPort }
        void readingsStored(this.#endpoints).then((n) => (this.#stored = n))
        // The trial window runs from readiness: start-up time on a slow device is not held against a release.
        const current = readSlotState(dataDir)
        if (current.trial !== null) this.#scheduleTrialCheck(current, this.#o.config.trialWindowSeconds)
      }
      if (this.#o.onChildLine !== undefined) this.#o.onChildLine(line)
      else process.stdout.write(`${line}\n`)
    })
    child.once('exit', (code, signal) => this.#onExit(child, code, signal))
    if (state.trial !== null) this.#scheduleTrialCheck(state, this.#o.config.readyTimeoutSeconds)
  }

  #scheduleTrialCheck(state: SlotState, afterSeconds: number): void {
    clearTimeout(this.#trialTimer)
    const trial = state.trial!
    this.#trialTimer = setTimeout(() => void this.#evaluateTrial(trial.releaseId), afterSeconds * 1000)
  }

  async #evaluateTrial(releaseId: string): Promise<void> {
    const state = readSlotState(this.#o.dataDir)
    if (this.#stopping || state.trial === null || state.trial.releaseId !== releaseId) return
    const endpoints = this.#endpoints
    const failure =
      endpoints === undefined
        ? `the edge did not become ready within ${this.#o.config.readyTimeoutSeconds} s (ota.readyTimeoutSeconds)`
        : await checkTrialHealth(endpoints, this.#o.config.healthCheck, this.#stored)
    if (this.#stopping) return
    if (failure === null) this.#commit()
    else {
      this.#rollback('OTA_ERR_HEALTH_CHECK_FAILED', failure)
      this.#restartChild()
    }
  }

  #commit(): void {
    const { dataDir, log } = this.#o
    const state = readSlotState(dataDir)
    if (state.trial === null) return
    const trial = state.trial
    writeSlotState(dataDir, { active: state.active, previous: state.previous, trial: null, updatedAt: Date.now() })
    this.#outbox.add({ rolloutId: trial.rolloutId, releaseId: trial.releaseId, state: 'committed', runningVersion: trial.version, at: Date.now() })
    log.info(`update to ${trial.version} committed: slot ${state.active} passed its trial`)
  }

  /** Makes the previous slot active again and queues the failure report. */
  #rollback(code: ErrorCode, reason: string): void {
    const { dataDir, log } = this.#o
    const state = readSlotState(dataDir)
    if (state.trial === null) return
    const trial = state.trial
    const target: SlotName = state.previous !== null && slotBootable(dataDir, state.previous) ? state.previous : 'factory'
    addRolledBack(dataDir, trial.releaseId, code, reason)
    writeSlotState(dataDir, { active: target, previous: null, trial: null, updatedAt: Date.now() })
    this.#outbox.add({ rolloutId: trial.rolloutId, releaseId: trial.releaseId, state: 'rolled-back', code, reason, runningVersion: this.#slotVersion(target), at: Date.now() })
    this.#crashes = []
    log.error(`rolled back from ${trial.version} (slot ${trial.slot}) to slot ${target}: ${code}: ${reason}`)
  }

  /** Stops the running child; its exit handler starts the active slot. */
  #restartChild(): void {
    if (this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#stoppedOnPurpose = this.#child
      this.#child.kill('SIGTERM')
    } else this.#launch()
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#child) return
    const { log, config, dataDir } = this.#o
    this.#child = undefined
    clearTimeout(this.#trialTimer)
    if (this.#stopping) {
      log.info(`the edge stopped (${signal ?? `code ${String(code)}`})`)
      this.#done()
      return
    }
    if (code === SWITCH_EXIT_CODE) {
      this.#applySwitchRequest()
      this.#launch()
      return
    }
    const now = Date.now()
    const state = readSlotState(dataDir)
    // Any exit the supervisor did not ask for counts, even code 0: a release that exits at once must not loop forever.
    const requested = child === this.#stoppedOnPurpose
    if (!requested) {
      this.#crashes = [...this.#crashes.filter((t) => now - t < config.crashLoopWindowSeconds * 1000), now]
      log.error(`the edge (slot ${state.active}) exited with ${signal ?? `code ${String(code)}`}; ${this.#crashes.length} crash(es) within ${config.crashLoopWindowSeconds} s`)
      if (state.trial !== null && this.#crashes.length >= config.crashLoopCount) {
        this.#rollback('OTA_ERR_CRASH_LOOP', `the edge ${state.trial.version} exited ${this.#crashes.length} times within ${config.crashLoopWindowSeconds} s (last: ${signal ?? `code ${String(code)}`})`)
        this.#restartDelayMs = config.restartDelayMs
        this.#launch()
        return
      }
    }
    const delay = requested ? 0 : this.#restartDelayMs
    if (!requested) this.#restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, Math.max(100, this.#restartDelayMs * 2))
    this.#restartTimer = setTimeout(() => this.#launch(), delay)
  }
}
