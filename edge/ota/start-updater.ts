import { arch } from 'node:os'
import type { ErrorCode } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { loadReleasePublicKey } from '../../firmware/release-key-files.js'
import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { DeviceIdentity } from '../hub-link/device-identity.js'
import { HubClient } from '../hub-link/hub-client.js'
import { OtaUpdater } from './updater.js'
import type { UpdaterStage } from './updater-state.js'

export interface StartOtaUpdaterOptions {
  dataDir: string
  identity: DeviceIdentity
  config: EdgeConfig
  log: Logger
  requestSwitch: () => void
  activateModel?: (modelDir: string) => Promise<void>
  /** Fault point for tests (edge/fault-points.ts `atOtaStage`). */
  atStage?: (stage: UpdaterStage, releaseId: string) => Promise<void>
  /** Counts hub answers refused before use, by code. */
  onRefused?: (code: ErrorCode) => void
}

/** Builds the updater for an enrolled edge (trusted keys from ota.trustedKeys, device target from the hub enrolment and this machine) and starts it. */
export function startOtaUpdater(options: StartOtaUpdaterOptions): OtaUpdater {
  const { identity, config, log } = options
  const trustedKeys = config.ota.trustedKeys.map((k) => loadReleasePublicKey(k))
  const credentials = { deviceId: identity.deviceId, privateKey: identity.privateKey }
  // Checked against the hub CA pinned at enrolment, like every hub connection; bundle downloads use the same transport.
  const client = new HubClient({ url: identity.hubUrl, timeoutMs: config.hub.requestTimeoutMs, credentials, hubCaPem: identity.hubCaPem, insecureHttp: config.hub.insecureHttp })
  const updater = new OtaUpdater({
    dataDir: options.dataDir,
    client,
    fetch: client.fetch,
    hubUrl: identity.hubUrl,
    credentials,
    config: config.ota,
    trustedKeys,
    pollIntervalMs: (config.ota.pollIntervalSeconds || config.hub.heartbeatIntervalSeconds) * 1000,
    requestTimeoutMs: config.hub.requestTimeoutMs,
    device: { arch: arch(), tier: identity.tier, ...(config.ota.hardware === undefined ? {} : { hardware: config.ota.hardware }) },
    supervised: process.env.CLOUDOS_OTA_SLOT !== undefined && process.send !== undefined,
    requestSwitch: options.requestSwitch,
    ...(options.activateModel === undefined ? {} : { activateModel: options.activateModel }),
    ...(options.atStage === undefined ? {} : { atStage: options.atStage }),
    ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
    log,
  })
  updater.start()
  return updater
}
