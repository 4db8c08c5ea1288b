import { describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { CloudosError } from '../../shared/errors.js'

describe('edge config: hub section', () => {
  it('defaults to a stand-alone edge with a 10 s heartbeat', () => {
    expect(loadEdgeConfig(undefined).hub).toEqual({ insecureHttp: false, heartbeatIntervalSeconds: 10, requestTimeoutMs: 5000, backoffInitialMs: 1000, backoffMaxMs: 60_000, alertBatchSize: 100 })
  })

  it('refuses a hub URL that is not http(s), an unknown key and an out-of-range value, naming the key', () => {
    const refusal = (hub: Record<string, unknown>) => {
      try {
        loadEdgeConfig(undefined, { hub } as never)
      } catch (err) {
        expect(err).toBeInstanceOf(CloudosError)
        return err as CloudosError
      }
      throw new Error('accepted')
    }
    expect(refusal({ url: 'ftp://hub' })).toMatchObject({ code: 'CONFIG_ERR_INVALID_VALUE', details: { key: 'hub.url' } })
    expect(refusal({ heartbeatInterval: 5 })).toMatchObject({ code: 'CONFIG_ERR_UNKNOWN_KEY', details: { key: 'hub.heartbeatInterval' } })
    expect(refusal({ alertBatchSize: 501 })).toMatchObject({ code: 'CONFIG_ERR_INVALID_VALUE', details: { key: 'hub.alertBatchSize' } })
  })
})
