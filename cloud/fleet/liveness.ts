import type { HubConfig } from '../hub-config.js'
import type { FleetRepository, StatusTransition } from './fleet-repository.js'

/**
 * Marks offline every online device whose last heartbeat is more than
 * `offlineAfterMissedHeartbeats` intervals before `now` (3 x 10 s by
 * default), recording each transition and raising `device.offline`.
 * The timer in FleetLivenessMonitor calls it; tests call it with their own
 * `now` instead of waiting.
 */
export function checkFleetLiveness(fleet: FleetRepository, config: HubConfig['fleet'], now: number): Promise<StatusTransition[]> {
  const silenceMs = config.offlineAfterMissedHeartbeats * config.heartbeatIntervalSeconds * 1000
  return fleet.markOffline(now - silenceMs, now)
}

/** Runs checkFleetLiveness every `livenessCheckSeconds` on the hub's clock. */
export class FleetLivenessMonitor {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly fleet: FleetRepository,
    private readonly config: HubConfig['fleet'],
    private readonly clock: () => number,
    private readonly onTransitions: (transitions: StatusTransition[]) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** One check now, at the hub clock's time (or `now`). */
  async check(now = this.clock()): Promise<StatusTransition[]> {
    const transitions = await checkFleetLiveness(this.fleet, this.config, now)
    if (transitions.length > 0) this.onTransitions(transitions)
    return transitions
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => {
      this.#running = this.check().catch(this.onError)
    }, this.config.livenessCheckSeconds * 1000)
    // The check alone must not keep a process alive.
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
