import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import type { ConfigAgent } from '../config-sync/config-agent.js'
import type { ConfigReplicaStore } from '../config-sync/config-replica-store.js'
import type { DeviceIdentity } from '../hub-link/device-identity.js'
import type { HealthSources } from '../hub-link/health-sampler.js'
import type { Outbox } from '../outbox/outbox.js'
import type { UploadStream } from '../outbox/stream-epochs.js'
import type { AlertStore } from '../store/alert-store.js'
import { ConfigSyncService } from './config-sync-service.js'
import { HubLinkService } from './hub-link-service.js'

export interface HubServicesOptions {
  /** edge/hub-link/connect.ts, loaded only when a hub is configured. */
  connect: typeof import('../hub-link/connect.js')
  identity: DeviceIdentity
  config: EdgeConfig
  alerts: AlertStore
  outbox: Outbox
  agent: ConfigAgent
  configStore: ConfigReplicaStore
  health: Omit<HealthSources, 'runtimeVersion'>
  onConfigRefused: (code: string) => void
  /** The upload stream epoch (checked against its marker before the link starts). */
  stream?: UploadStream
  /** Counts hub answers refused before use, by code. */
  onHubRefused?: (code: string) => void
  /** Counts hub endpoints refused for failing to prove the pinned identity. */
  onIdentityRefused?: () => void
  log: Logger
}

/** The services of an enrolled edge that talk to its hub: the link (heartbeats, alerts, upload), and config sync over the link's signed client. */
export function hubServices(options: HubServicesOptions): { hubLink: HubLinkService; configSync: ConfigSyncService } {
  const { connect, identity, config, alerts, outbox, agent, configStore, log } = options
  const hubLink = new HubLinkService(() =>
    connect.connectHubLink({ identity, config: config.hub, alerts, log, outbox: (client) => outbox.linkFor(client), health: options.health, ...(options.stream ? { stream: options.stream } : {}), ...(options.onIdentityRefused === undefined ? {} : { onIdentityRefused: options.onIdentityRefused }) }),
  )
  const configSync = new ConfigSyncService(config, async (settings) => {
    const { ConfigSyncLoop } = await import('../config-sync/config-sync-loop.js')
    return new ConfigSyncLoop({ client: hubLink.link.client, agent, store: configStore, log, onRefused: options.onConfigRefused, ...(options.onHubRefused ? { onHubRefused: options.onHubRefused } : {}), settings })
  })
  return { hubLink, configSync }
}
