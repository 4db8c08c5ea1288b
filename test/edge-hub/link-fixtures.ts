import { loadEdgeConfig } from '../../edge/config/load.js'
import type { HubLinkConfig } from '../../shared/config/edge-config-schema.js'

/** The `hub` config section as the runtime gets it: validated, defaults filled. */
export function resolveEdgeConfigForTest(hub: Partial<HubLinkConfig>): HubLinkConfig {
  return loadEdgeConfig(undefined, { hub }).hub
}
