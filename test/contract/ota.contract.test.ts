import { createPublicKey, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { OtaUpdater } from '../../edge/ota/updater.js'
import { generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'
import { buildBundle } from '../../shared/ota/bundle.js'
import { OTA_TARGET_PATH, otaBundlePath, otaReportExchange, otaTargetExchange } from '../../shared/protocol/ota.js'
import { inOneYear, newReleaseKey } from '../hub/ota-helper.js'
import { quietLogger, startMisbehavingHub, useContractSetup } from './contract-fixture.js'

describe('contract: OTA target (GET /v1/devices/me/ota), bundle download and report (POST /v1/devices/me/ota/report)', () => {
  const setup = useContractSetup()

  const updaterFor = (dataDir: string, client: HubClient, hubUrl: string, deviceId: string, privateKey: KeyObject, trustedKeyPem: string | undefined) =>
    new OtaUpdater({
      dataDir,
      client,
      fetch: client.fetch,
      hubUrl,
      credentials: { deviceId, privateKey },
      config: loadEdgeConfig(undefined, {}).ota,
      trustedKeys: trustedKeyPem === undefined ? [] : [createPublicKey(trustedKeyPem)],
      pollIntervalMs: 60_000,
      requestTimeoutMs: 5000,
      device: { arch: process.arch, tier: 'edge' },
      supervised: false,
      requestSwitch: () => undefined,
      log: quietLogger(),
    })

  it('the updater polls the real hub, downloads the offered bundle and reports each step; target and report answers match the shared schema', async () => {
    const edge = await setup.enrolEdge({ group: 'contract-ota' })
    const key = newReleaseKey()
    expect((await setup.hub.post('/v1/release-keys', { name: 'contract', publicKeyPem: key.publicKeyPem })).status).toBe(201)
    const source = join(setup.tmp.path, 'model-src')
    mkdirSync(source, { recursive: true })
    writeFileSync(join(source, 'model.bin'), Buffer.alloc(4096, 7))
    const bundlePath = join(setup.tmp.path, 'model.cosb')
    await buildBundle({ sourceDir: source, outputPath: bundlePath, name: 'contract-model', version: '1.0.0', kind: 'model', expiresAt: inOneYear(), compressionLevel: 1, privateKey: key.privateKey })
    const uploaded = await setup.hub.fetch(`${setup.hub.url}/v1/releases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${setup.hub.adminToken}`, 'content-type': 'application/octet-stream' },
      body: readFileSync(bundlePath),
    })
    expect(uploaded.status).toBe(201)
    const release = (await uploaded.json()) as { id: string }
    const rollout = await setup.hub.post<{ id: string }>('/v1/rollouts', { releaseId: release.id, target: { group: 'contract-ota' }, waves: [{ percent: 100 }] })
    expect(rollout.status).toBe(201)

    const updater = updaterFor(edge.dataDir, edge.client, setup.hub.url, edge.identity.deviceId, edge.identity.privateKey, key.publicKeyPem)
    await updater.poll()
    const [target] = edge.client.answersTo(otaTargetExchange)
    expect(target?.release).toMatchObject({ releaseId: release.id, rolloutId: rollout.body.id, kind: 'model', version: '1.0.0', downloadPath: otaBundlePath(release.id) })
    const reports = edge.client.answersTo(otaReportExchange)
    expect(reports.map((r) => r.state)).toEqual(['downloading', 'verifying', 'installing', 'committed'])
    expect(reports.every((r) => r.changed)).toBe(true)

    // Committed is final: the next target is nothing.
    await updater.poll()
    expect(edge.client.answersTo(otaTargetExchange).at(-1)).toEqual({ release: null })
    await updater.stop()
  })

  it('a hub answering the wrong shape: the poll fails with EDGE_ERR_HUB_ANSWER_INVALID and nothing is downloaded', async () => {
    const standIn = await startMisbehavingHub([{ method: 'GET', path: OTA_TARGET_PATH, answer: () => ({ release: { releaseId: 1, downloadPath: '/etc/passwd' } }) }])
    try {
      const { privateKey } = generateDeviceKeyPair()
      const client = new HubClient({ url: standIn.url, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'dev-stand-in', privateKey } })
      const updater = updaterFor(join(setup.tmp.path, 'ota-bad'), client, standIn.url, 'dev-stand-in', privateKey, undefined)
      const err = await updater.poll().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(CloudosError)
      expect((err as CloudosError).code).toBe('EDGE_ERR_HUB_ANSWER_INVALID')
      expect((err as CloudosError).message).toMatch(/OTA target .*\/release/)
      expect(standIn.calls.get(OTA_TARGET_PATH)).toBe(1)
      await updater.stop()
    } finally {
      await standIn.app.close()
    }
  })
})
