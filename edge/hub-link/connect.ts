import type { Logger } from '../../shared/log/logger.js'
import type { HubLinkConfig } from '../../shared/config/edge-config-schema.js'
import type { UploadStream } from '../outbox/stream-epochs.js'
import type { AlertStore } from '../store/alert-store.js'
import type { DeviceIdentity } from './device-identity.js'
import { HealthSampler, type HealthSources } from './health-sampler.js'
import { HubClient } from './hub-client.js'
import { HubLink, type HubLinkOutbox } from './hub-link.js'
import { runtimeVersion } from './runtime-version.js'

export { ensureEnrolled } from './enrolment.js'

/** The device's signed client: every connection verified against the hub CA pinned at enrolment. */
export function signedHubClient(identity: DeviceIdentity, config: HubLinkConfig, onIdentityRefused?: () => void): HubClient {
  return new HubClient({
    url: identity.hubUrl,
    timeoutMs: config.requestTimeoutMs,
    credentials: { deviceId: identity.deviceId, privateKey: identity.privateKey },
    hubCaPem: identity.hubCaPem,
    insecureHttp: config.insecureHttp,
    ...(onIdentityRefused === undefined ? {} : { onIdentityRefused: () => onIdentityRefused() }),
  })
}

export interface ConnectHubLinkOptions {
  identity: DeviceIdentity
  config: HubLinkConfig
  alerts: AlertStore
  log: Logger
  health: Omit<HealthSources, 'runtimeVersion'>
  /** The upload stream epoch alerts go under (edge/outbox/stream-epochs.ts). */
  stream?: UploadStream
  /** The telemetry outbox, given the link's signed client (edge/outbox/outbox.ts `linkFor`). */
  outbox?: (client: HubClient) => HubLinkOutbox
  /** Counts hub endpoints that failed to prove the pinned identity. */
  onIdentityRefused?: () => void
}

/**
 * Builds the signed client, the health sampler and the link for an enrolled
 * device, and starts the link. What the runtime loads (lazily) when a hub is
 * configured.
 */
export function connectHubLink(options: ConnectHubLinkOptions): HubLink {
  const { identity, config } = options
  const client = signedHubClient(identity, config, options.onIdentityRefused)
  const link = new HubLink({
    client,
    ...(options.outbox === undefined ? {} : { outbox: options.outbox(client) }),
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    deviceId: identity.deviceId,
    alerts: options.alerts,
    health: new HealthSampler({ ...options.health, runtimeVersion: runtimeVersion() }),
    config,
    log: options.log,
  })
  link.start()
  return link
}
