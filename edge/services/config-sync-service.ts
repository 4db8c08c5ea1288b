import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { ConfigSyncLoop, ConfigSyncSettings, ConfigSyncStatus } from '../config-sync/config-sync-loop.js'
import type { EdgeService } from './edge-service.js'

/**
 * The config sync loop with the hub (long-poll of the config documents).
 * Owns `config` and reads the hub's timeouts and backoff: a live change to
 * either section is taken on the next exchange. `create` builds the loop with
 * the settings getter (edge/config-sync/config-sync-loop.ts is loaded only
 * with a hub).
 */
export class ConfigSyncService implements EdgeService {
  readonly name = 'config-sync'
  readonly sections = ['config', 'hub'] as const
  readonly #create: (settings: () => ConfigSyncSettings) => Promise<ConfigSyncLoop>
  #config: EdgeConfig
  #loop: ConfigSyncLoop | undefined

  constructor(config: EdgeConfig, create: (settings: () => ConfigSyncSettings) => Promise<ConfigSyncLoop>) {
    this.#config = config
    this.#create = create
  }

  status(): ConfigSyncStatus | { state: 'disabled' } {
    return this.#loop?.status() ?? { state: 'disabled' }
  }

  async start(): Promise<void> {
    this.#loop = await this.#create(() => ({
      longPollSeconds: this.#config.config.longPollSeconds,
      requestTimeoutMs: this.#config.hub.requestTimeoutMs,
      backoffInitialMs: this.#config.hub.backoffInitialMs,
      backoffMaxMs: this.#config.hub.backoffMaxMs,
    }))
    this.#loop.start()
  }

  async stop(): Promise<void> {
    await this.#loop?.stop()
  }

  reconfigure(next: EdgeConfig): void {
    this.#config = next
  }
}
