import { loadEdgeConfig, type EdgeConfigOverrides } from '../../edge/config/load.js'
import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import { EdgeRuntime, type EdgeEndpoints } from '../../edge/runtime.js'
import { readApiToken } from '../../edge/api/auth/api-token.js'
import type { Logger } from '../../shared/log/logger.js'
import { makeTempDir } from '../helpers/temp-dir.js'

export interface TestEdge {
  runtime: EdgeRuntime
  endpoints: EdgeEndpoints
  config: EdgeConfig
  dataDir: string
  /** The local API's bearer token (<dataDir>/api-token), needed by every state-changing request. */
  apiToken: string
  /** `{authorization: 'Bearer <apiToken>'}`, to spread into fetch headers. */
  authHeaders: { authorization: string }
  /** Stops the runtime (graceful) and, unless `keepDataDir`, removes the data dir. Idempotent. */
  stop(options?: { keepDataDir?: boolean }): Promise<void>
}

export interface StartTestEdgeOptions {
  /** Config sections merged over the test defaults (loopback, port 0 for MQTT and HTTP). */
  config?: EdgeConfigOverrides
  /** Reuse this data directory (not removed by stop). */
  dataDir?: string
  logger?: Logger
}

/**
 * Starts a real in-process EdgeRuntime (embedded aedes broker over TCP,
 * SQLite in a temp dir, fastify listening) on free ports.
 */
export async function startTestEdge(options: StartTestEdgeOptions = {}): Promise<TestEdge> {
  const overrides = options.config ?? {}
  const config = loadEdgeConfig(undefined, {
    ...overrides,
    mqtt: { host: '127.0.0.1', port: 0, ...overrides.mqtt },
    http: { host: '127.0.0.1', port: 0, ...overrides.http },
  })
  const ownDir = options.dataDir === undefined ? makeTempDir('cloudos-edge-') : undefined
  const dataDir = options.dataDir ?? (ownDir as { path: string }).path
  const runtime = new EdgeRuntime({ dataDir, config, ...(options.logger ? { logger: options.logger } : {}) })
  let endpoints: EdgeEndpoints
  try {
    endpoints = await runtime.start()
  } catch (err) {
    ownDir?.remove()
    throw err
  }
  let stopped: Promise<void> | undefined
  const apiToken = readApiToken(dataDir)
  return {
    runtime,
    endpoints,
    config,
    dataDir,
    apiToken,
    authHeaders: { authorization: `Bearer ${apiToken}` },
    stop(stopOptions = {}) {
      stopped ??= runtime.stop().finally(() => {
        if (!stopOptions.keepDataDir) ownDir?.remove()
      })
      return stopped
    },
  }
}
