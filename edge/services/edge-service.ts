import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'

/** A top-level section of the edge config (`ingest`, `storage`, `hub`, ...). */
export type ConfigSection = keyof EdgeConfig

/**
 * One subsystem of the edge runtime, with a small lifecycle. The runtime
 * registers services in dependency order, starts them in that order and
 * stops them in reverse; a live config change reaches a service only when it
 * changed a section the service owns.
 */
export interface EdgeService {
  /** For logs: "broker", "ingest", ... */
  readonly name: string
  /** The config sections this service reads live; changes to them reach `reconfigure`. */
  readonly sections: readonly ConfigSection[]
  start(): void | Promise<void>
  /** Called once, also after a failed `start` (releases whatever it got). */
  stop(): void | Promise<void>
  /**
   * Takes a validated config in which some of its sections changed; `changed`
   * holds the dotted keys of its own sections whose apply mode is `live`
   * (keys that need a restart never arrive here).
   */
  reconfigure?(next: EdgeConfig, changed: readonly string[]): void
}
