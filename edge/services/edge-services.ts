import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import type { ConfigSection, EdgeService } from './edge-service.js'

/** The section a dotted config key belongs to (`storage.retentionSchedule` -> `storage`). */
export function sectionOf(key: string): ConfigSection {
  return key.split('.', 1)[0] as ConfigSection
}

/**
 * The edge's services in dependency order: started first to last, stopped
 * last to first, so a service never outlives what it uses (the database
 * closes after everything that writes to it).
 */
export class EdgeServices {
  readonly #log: Logger
  readonly #registered: EdgeService[] = []
  /** Services whose start was called (even if it failed): these get a stop. */
  readonly #started: EdgeService[] = []
  #stopping = false

  constructor(log: Logger) {
    this.#log = log
  }

  register<S extends EdgeService>(service: S): S {
    if (this.#registered.some((s) => s.name === service.name)) throw new Error(`an edge service named ${service.name} is already registered`)
    this.#registered.push(service)
    return service
  }

  /** The names of the registered services, in start order. */
  names(): string[] {
    return this.#registered.map((s) => s.name)
  }

  /** The services that own `section`, in start order. */
  ownersOf(section: ConfigSection): string[] {
    return this.#registered.filter((s) => s.sections.includes(section)).map((s) => s.name)
  }

  /** Starts each service in registration order; the first failure is thrown (call `stop` to release the rest). */
  async start(): Promise<void> {
    for (const service of this.#registered) {
      if (this.#stopping) return
      this.#started.push(service)
      await service.start()
    }
  }

  /** Stops the started services in reverse order; a failing stop is logged and the next one still runs. */
  async stop(): Promise<void> {
    this.#stopping = true
    while (this.#started.length > 0) {
      const service = this.#started.pop() as EdgeService
      try {
        await service.stop()
      } catch (err) {
        this.#log.warn(`stopping the ${service.name} service failed`, { error: (err as Error).message })
      }
    }
  }

  /**
   * Hands `next` to each service that owns a section of `liveKeys`, with only
   * its own keys. A service that throws stops the change there (the caller
   * sees the error, as a refused update should be).
   */
  reconfigure(next: EdgeConfig, liveKeys: readonly string[]): void {
    for (const service of this.#registered) {
      if (service.reconfigure === undefined) continue
      const own = liveKeys.filter((key) => service.sections.includes(sectionOf(key)))
      if (own.length > 0) service.reconfigure(next, own)
    }
  }
}
