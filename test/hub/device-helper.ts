import type { KeyObject } from 'node:crypto'
import { expect } from 'vitest'
import { encodePublicKey, generateDeviceKeyPair, signDeviceRequest } from '../../shared/device-auth/index.js'
import { bearer, type TestHub } from './helper.js'

const GiB = 1024 ** 3
export const goodFacts = { cpuCount: 4, memoryBytes: 4 * GiB, freeDiskBytes: 32 * GiB, arch: 'arm64', os: 'linux 6.1.0-rpi', runtimeVersion: 'v20.20.2' }

export interface TestDevice {
  deviceId: string
  privateKey: KeyObject
  /** A request signed by this device at the hub's test clock. */
  send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ statusCode: number; json: () => any; body: string; headers: Record<string, unknown> }>
}

/** Creates an enrolment token (as `adminToken`) and enrols a fresh device with it. */
export async function enrolDevice(hub: TestHub, adminToken: string, options: { group?: string; tier?: 'edge' | 'lite'; name?: string } = {}): Promise<TestDevice> {
  const created = await hub.app.inject({ method: 'POST', url: '/v1/enrolment-tokens', headers: bearer(adminToken), payload: { group: options.group ?? 'wind-farm-1', tier: options.tier ?? 'edge' } })
  expect(created.statusCode, created.body).toBe(201)
  const { publicKey, privateKey } = generateDeviceKeyPair()
  const enrolled = await hub.app.inject({
    method: 'POST',
    url: '/v1/devices/enroll',
    payload: { enrolmentToken: (created.json() as { token: string }).token, publicKey: encodePublicKey(publicKey), facts: goodFacts, name: options.name ?? 'turbine' },
  })
  expect(enrolled.statusCode, enrolled.body).toBe(201)
  const { deviceId } = enrolled.json() as { deviceId: string }
  return {
    deviceId,
    privateKey,
    async send(method, path, body) {
      const payload = body === undefined ? '' : JSON.stringify(body)
      const headers = signDeviceRequest(privateKey, { deviceId, method, path, body: payload, timestamp: hub.clock() })
      return hub.app.inject({ method, url: path, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, payload })
    },
  }
}

export const health = (overrides: Record<string, unknown> = {}) => ({
  uptimeSeconds: 120,
  queueDepth: 3,
  dbSizeBytes: 1_048_576,
  readingsPerSecond: 250.5,
  rejectedPerSecond: 0.5,
  cpuPercent: 12.5,
  memoryBytes: 96 * 1024 * 1024,
  versions: { runtime: 'v20.20.2' },
  ...overrides,
})
