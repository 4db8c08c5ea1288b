import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { HubLink, HubLinkStatus } from '../hub-link/hub-link.js'
import type { EdgeService } from './edge-service.js'

/**
 * The link to the fleet hub (heartbeats, alerts, telemetry upload) of an
 * enrolled edge. Owns `hub` (cadence and backoff live; the URL needs a
 * restart). `connect` builds and starts the link (edge/hub-link/connect.ts).
 */
export class HubLinkService implements EdgeService {
  readonly name = 'hub-link'
  readonly sections = ['hub'] as const
  readonly #connect: () => HubLink
  #link: HubLink | undefined

  constructor(connect: () => HubLink) {
    this.#connect = connect
  }

  /** The started link (its signed client is shared with config sync and OTA). */
  get link(): HubLink {
    if (this.#link === undefined) throw new Error('the hub link is not started')
    return this.#link
  }

  status(): HubLinkStatus {
    return this.#link?.status() ?? { state: 'disabled' }
  }

  start(): void {
    this.#link = this.#connect()
  }

  async stop(): Promise<void> {
    await this.#link?.stop()
  }

  reconfigure(next: EdgeConfig): void {
    this.#link?.reconfigure(next.hub)
  }
}
