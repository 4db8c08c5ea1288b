import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { ModelDescriptor } from '../../shared/anomaly/detector.js'
import type { Logger } from '../../shared/log/logger.js'
import type { FaultPoints } from '../fault-points.js'
import type { DeviceIdentity } from '../hub-link/device-identity.js'
import type { EdgeService } from './edge-service.js'

export interface OtaServiceOptions {
  dataDir: string
  identity: DeviceIdentity
  /** The start-up config: `ota` needs a restart to change. */
  config: EdgeConfig
  log: Logger
  requestSwitch: () => void
  /** The model registry an installed model bundle goes to (the inference loop). */
  models: { swap(modelPath: string): Promise<ModelDescriptor> }
  faults: FaultPoints
  /** Counts hub answers refused before use (lifetime hub_refused.* counters). */
  onHubRefused?: (code: string) => void
}

/**
 * The OTA updater of an enrolled edge (target polling, download, verify,
 * install, reports). Owns `ota`, whose keys all need a restart. Started last
 * (it may ask for a slot switch, which stops the whole runtime), stopped first.
 */
export class OtaService implements EdgeService {
  readonly name = 'ota'
  readonly sections = ['ota'] as const
  readonly #options: OtaServiceOptions
  #updater: { stop(): Promise<void> } | undefined

  constructor(options: OtaServiceOptions) {
    this.#options = options
  }

  async start(): Promise<void> {
    const { faults, models, onHubRefused, ...options } = this.#options
    const { log } = options
    // Loaded only with a hub: the updater and the bundle verifier.
    const { startOtaUpdater } = await import('../ota/start-updater.js')
    this.#updater = startOtaUpdater({
      ...options,
      // A model bundle goes straight to the model registry (validated against its card, warmed, switched atomically).
      activateModel: async (modelDir) => {
        const { modelCardIn } = await import('../ota/model-bundle.js')
        const model = await models.swap(modelCardIn(modelDir))
        log.info(`model ${model.name} ${model.version} from an OTA bundle is running`)
      },
      ...(faults.atOtaStage === undefined ? {} : { atStage: faults.atOtaStage }),
      ...(onHubRefused === undefined ? {} : { onRefused: onHubRefused }),
    })
  }

  async stop(): Promise<void> {
    await this.#updater?.stop()
  }
}
