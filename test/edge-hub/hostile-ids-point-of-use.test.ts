import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { describe, expect, it } from 'vitest'
import { hubResourceUrl } from '../../edge/ota/bundle-download.js'
import { installModel } from '../../edge/ota/install-kinds.js'
import { modelCardIn } from '../../edge/ota/model-bundle.js'
import { OtaUpdater } from '../../edge/ota/updater.js'
import type { HubClient } from '../../edge/hub-link/hub-client.js'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { containedPath } from '../../shared/fs/contained-path.js'
import { silentLogger } from '../../shared/log/logger.js'
import { parseManifest, type BundleManifest } from '../../shared/ota/manifest.js'
import { BundleNameSchema, GroupNameSchema, HubPathSchema, ReleaseIdSchema, VersionSchema } from '../../shared/protocol/identifiers.js'
import { otaTargetExchange, type OtaTarget } from '../../shared/protocol/ota.js'
import { useTempDir } from '../helpers/temp-dir.js'

const HOSTILE_NAMES = ['..', '.', '../X', '../../../X', '/etc/passwd', 'a/b', 'a\\b', 'a\u0000b', 'x'.repeat(65), '', '.hidden', '-rf', '__proto__']

// Defence in depth (issue 13): the answer check refuses these at the hub client;
// these tests call the points of use directly, as if that check were skipped.
describe('identifiers from the hub, checked where they are used', () => {
  it('the shared schemas refuse every hostile name and accept the hub\'s own ids', () => {
    for (const schema of [ReleaseIdSchema, GroupNameSchema, BundleNameSchema]) {
      const check = TypeCompiler.Compile(schema)
      for (const name of HOSTILE_NAMES) expect(check.Check(name), JSON.stringify(name)).toBe(false)
      for (const name of ['rel-6f1c2a9e-0b7d-4c1e-9d2a-1f3b5c7d9e0f', 'dev-1', 'test-site', 'cloudos-runtime', 'a.b_c-d']) expect(check.Check(name), name).toBe(true)
    }
    const version = TypeCompiler.Compile(VersionSchema)
    for (const v of ['1.0.0', '2.3.4-rc.1', '1.0.0+build.5']) expect(version.Check(v), v).toBe(true)
    for (const v of ['1.0.0/../../x', '../1.0.0', '1.0', 'v1.0.0', '1.0.0\u0000']) expect(version.Check(v), v).toBe(false)
    const path = TypeCompiler.Compile(HubPathSchema)
    for (const p of ['/v1/releases/rel-1/bundle', '/v1/devices/me/ota/bundle/rel-0.2.0']) expect(path.Check(p), p).toBe(true)
    for (const p of ['http://evil/x', '//evil/x', '/v1/../x', '/v1/./x', 'v1/x', '/v1/x?y=1', '/v1/%2e%2e/x', '/v1//x', '/']) expect(path.Check(p), p).toBe(false)
  })

  it('containedPath refuses any name that leaves its root, before a file system call', () => {
    const root = useTempDir()
    for (const name of HOSTILE_NAMES.filter((n) => n !== '.hidden' && n !== '-rf' && n !== '__proto__' && n !== 'x'.repeat(65))) {
      expect(() => containedPath(root, name), JSON.stringify(name)).toThrow(expect.objectContaining({ code: 'EDGE_ERR_PATH_OUTSIDE_ROOT' }))
    }
    expect(() => containedPath(root, 'a', '..')).toThrow(expect.objectContaining({ code: 'EDGE_ERR_PATH_OUTSIDE_ROOT' }))
    expect(containedPath(root, 'rel-1.cosb')).toBe(join(root, 'rel-1.cosb'))
    expect(containedPath(join(root, 'x', '..'), 'a', 'b')).toBe(join(root, 'a', 'b'))
  })

  it('the bundle URL never leaves the hub', () => {
    const hub = 'http://127.0.0.1:8080/prefix'
    expect(hubResourceUrl(hub, '/v1/releases/rel-1/bundle').href).toBe('http://127.0.0.1:8080/prefix/v1/releases/rel-1/bundle')
    for (const path of ['http://evil.example/x', '//evil.example/x', '/v1/../../x', '/v1/%2e%2e/x', 'v1/x']) {
      expect(() => hubResourceUrl(hub, path), path).toThrow(expect.objectContaining({ code: 'EDGE_ERR_HUB_ID_INVALID' }))
    }
  })

  it('the updater refuses a hostile target that skipped the answer check: nothing written, nothing removed', async () => {
    const sandbox = useTempDir('cloudos-hostile-unit-')
    const dataDir = join(sandbox, 'data')
    mkdirSync(join(sandbox, 'X.extract'), { recursive: true })
    writeFileSync(join(sandbox, 'X.extract', 'keep.txt'), 'keep')
    for (const releaseId of ['../../../X', '/tmp/X', 'a\u0000b', '..', 'r'.repeat(300)]) {
      const target: OtaTarget = {
        release: { releaseId, rolloutId: 'ro-1', name: 'fw', version: '1.0.0', kind: 'firmware', bundleBytes: 10, bundleSha256: '0'.repeat(64), downloadPath: '/v1/releases/x/bundle', allowDowngrade: false },
      }
      let exchanges = 0
      let downloads = 0
      // A client that hands the hostile answer straight through (no schema check).
      const client = { exchange: async (exchange: unknown) => (exchanges++, exchange === otaTargetExchange ? target : { state: 'failed', changed: true }) } as unknown as HubClient
      const { privateKey } = generateDeviceKeyPair()
      const refused: string[] = []
      const updater = new OtaUpdater({
        dataDir,
        client,
        // No download may start for a refused target.
        fetch: (async () => {
          downloads++
          throw new Error('no download may start')
        }) as unknown as typeof fetch,
        hubUrl: 'http://127.0.0.1:1',
        credentials: { deviceId: 'dev-1', privateKey },
        config: loadEdgeConfig(undefined).ota,
        trustedKeys: [],
        pollIntervalMs: 60_000,
        requestTimeoutMs: 1000,
        device: { arch: 'x64', tier: 'edge' },
        supervised: false,
        requestSwitch: () => undefined,
        onRefused: (code) => refused.push(code),
        log: silentLogger,
      })
      await expect(updater.poll(), JSON.stringify(releaseId)).rejects.toMatchObject({ code: 'EDGE_ERR_HUB_ID_INVALID' })
      expect(exchanges).toBe(1)
      expect(downloads).toBe(0)
      expect(readdirSync(sandbox).sort()).toEqual(['X.extract', 'data'])
      expect(readdirSync(join(sandbox, 'X.extract'))).toEqual(['keep.txt'])
      expect(readdirSync(join(dataDir, 'ota', 'staging'))).toEqual([])
    }
  })

  it('a model is installed under its release id, never under the signed manifest name', () => {
    const dataDir = useTempDir()
    const extracted = join(dataDir, 'ota', 'staging', 'rel-1.extract')
    mkdirSync(extracted, { recursive: true })
    writeFileSync(join(extracted, 'm.onnx'), 'x')
    const manifest = { name: 'vibration', version: '1.0.0', kind: 'model', bundleId: 'bundle-0001' } as BundleManifest
    expect(installModel({ dataDir, manifest, extractedDir: extracted, releaseId: 'rel-1', rolloutId: 'ro-1' })).toBe(join(dataDir, 'models', 'rel-1'))
    for (const releaseId of ['..', '../x', '/tmp/x']) {
      expect(() => installModel({ dataDir, manifest, extractedDir: extracted, releaseId, rolloutId: 'ro-1' })).toThrow(expect.objectContaining({ code: 'EDGE_ERR_PATH_OUTSIDE_ROOT' }))
    }
  })

  it('a signed manifest whose name is not an identifier is refused at parse (build, hub upload, edge verify)', () => {
    const base = { formatVersion: 1, bundleId: 'bundle-0001', version: '1.0.0', kind: 'model', expiresAt: '2099-01-01T00:00:00Z', createdAt: '2026-01-01T00:00:00Z', target: {}, files: [], payloadBytes: 0 }
    expect(parseManifest(JSON.stringify({ ...base, name: 'vibration' })).name).toBe('vibration')
    for (const name of ['../../x', '/etc', 'a/b', '..', 'a\u0000b']) {
      expect(() => parseManifest(JSON.stringify({ ...base, name })), name).toThrow(expect.objectContaining({ code: 'OTA_ERR_MANIFEST_INVALID' }))
    }
  })
})

describe('a model card from a bundle', () => {
  it('may not name a model file outside the bundle', () => {
    const modelDir = useTempDir()
    for (const file of ['../../../etc/model.onnx', '/etc/model.onnx', 'sub/../../x.onnx']) {
      writeFileSync(join(modelDir, 'm.card.json'), JSON.stringify({ file }))
      expect(() => modelCardIn(modelDir), file).toThrow(expect.objectContaining({ code: 'EDGE_ERR_PATH_OUTSIDE_ROOT' }))
    }
    writeFileSync(join(modelDir, 'm.card.json'), JSON.stringify({ file: 'm.onnx' }))
    expect(modelCardIn(modelDir)).toBe(join(modelDir, 'm.card.json'))
  })
})
