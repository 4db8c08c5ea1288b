import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../helpers/temp-dir.js'
import { enrolDevice } from './device-helper.js'
import { bearer, build, secretOf, type TestHub } from './helper.js'
import { deviceGet, makeBundle, newReleaseKey, trustKey, upload } from './ota-helper.js'

async function viewerToken(hub: TestHub, adminToken: string): Promise<string> {
  const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(adminToken), payload: { username: 'vera', password: 'viewer password long', role: 'viewer' } })
  expect(created.statusCode, created.body).toBe(201)
  return hub.login({ username: 'vera', password: 'viewer password long', totpSecret: secretOf((created.json() as { otpauthUri: string }).otpauthUri) })
}

async function auditActions(hub: TestHub, token: string): Promise<string[]> {
  const response = await hub.app.inject({ method: 'GET', url: '/v1/audit?limit=1000', headers: bearer(token) })
  expect(response.statusCode, response.body).toBe(200)
  return (response.json() as { entries: { action: string }[] }).entries.map((e) => e.action)
}

describe('hub releases: trusted keys, upload, verification', () => {
  it('refuses an upload while no release key is trusted, before reading the body', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const response = await upload(hub, token, Buffer.from('not even a bundle'))
    expect(response.statusCode).toBe(422)
    expect(response.json()).toMatchObject({ code: 'RELEASE_ERR_NO_TRUSTED_KEYS' })
  })

  it('stores a signed bundle, lists and gets it, refuses a duplicate, deletes it; every step audited', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const dir = useTempDir()
    const key = newReleaseKey()
    await trustKey(hub, token, key)
    const keys = await hub.app.inject({ method: 'GET', url: '/v1/release-keys', headers: bearer(token) })
    expect(keys.json()).toMatchObject({ keys: [{ id: key.keyId, source: 'admin', addedBy: 'user:admin' }] })

    const bundle = await makeBundle(dir, { key, version: '1.2.0', payloadBytes: 300_000 })
    const bytes = readFileSync(bundle.path)
    const created = await upload(hub, token, bytes)
    expect(created.statusCode, created.body).toBe(201)
    const release = created.json() as { id: string; bundleBytes: number; bundleSha256: string; signingKeyId: string; manifest: { bundleId: string } }
    expect(release).toMatchObject({ name: 'cloudos-runtime', version: '1.2.0', kind: 'runtime', bundleBytes: bytes.length, signingKeyId: key.keyId })
    expect(release.manifest.bundleId).toBe(bundle.manifest.bundleId)
    // Stored byte for byte, and nothing left in the incoming directory.
    expect(readFileSync(join(hub.dataDir, 'releases', `${release.id}.bundle`)).equals(bytes)).toBe(true)
    expect(readdirSync(join(hub.dataDir, 'releases', '.incoming'))).toEqual([])

    const listed = await hub.app.inject({ method: 'GET', url: '/v1/releases', headers: bearer(token) })
    expect(listed.json()).toMatchObject({ count: 1, releases: [{ id: release.id }] })
    const one = await hub.app.inject({ method: 'GET', url: `/v1/releases/${release.id}`, headers: bearer(token) })
    expect(one.json()).toMatchObject({ id: release.id, bundleSha256: release.bundleSha256 })

    const again = await upload(hub, token, bytes)
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'RELEASE_ERR_DUPLICATE' })
    expect(readdirSync(join(hub.dataDir, 'releases')).filter((f) => f.endsWith('.bundle'))).toEqual([`${release.id}.bundle`])

    const deleted = await hub.app.inject({ method: 'DELETE', url: `/v1/releases/${release.id}`, headers: bearer(token) })
    expect(deleted.statusCode, deleted.body).toBe(200)
    expect(readdirSync(join(hub.dataDir, 'releases')).filter((f) => f.endsWith('.bundle'))).toEqual([])
    expect((await hub.app.inject({ method: 'GET', url: `/v1/releases/${release.id}`, headers: bearer(token) })).statusCode).toBe(404)

    const actions = await auditActions(hub, token)
    for (const action of ['release_key.add', 'release.upload', 'release.upload_refused', 'release.delete']) expect(actions).toContain(action)
  })

  it('refuses unsigned, tampered, untrusted-key and non-bundle uploads with the verifier\'s code, keeping nothing', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const dir = useTempDir()
    const key = newReleaseKey()
    await trustKey(hub, token, key)

    const unsigned = await makeBundle(dir, { key: null })
    const untrusted = await makeBundle(dir, { key: newReleaseKey(), version: '1.0.1' })
    const good = readFileSync((await makeBundle(dir, { key, version: '1.0.2', payloadBytes: 100_000 })).path)
    const tampered = Buffer.from(good)
    tampered[Math.floor(tampered.length / 2)] = (tampered[Math.floor(tampered.length / 2)] as number) ^ 0xff

    const cases: [string, Buffer, RegExp][] = [
      ['unsigned', readFileSync(unsigned.path), /^OTA_ERR_UNSIGNED$/],
      ['untrusted key', readFileSync(untrusted.path), /^OTA_ERR_UNTRUSTED_KEY$/],
      ['tampered', tampered, /^OTA_ERR_/],
      ['not a bundle', Buffer.from('hello, this is not a bundle'), /^OTA_ERR_/],
    ]
    for (const [name, body, code] of cases) {
      const response = await upload(hub, token, body)
      expect(response.statusCode, name).toBeGreaterThanOrEqual(400)
      expect(response.statusCode, name).toBeLessThan(500)
      expect((response.json() as { code: string }).code, `${name}: ${response.body}`).toMatch(code)
    }
    expect(readdirSync(join(hub.dataDir, 'releases', '.incoming'))).toEqual([])
    expect(readdirSync(join(hub.dataDir, 'releases')).filter((f) => f.endsWith('.bundle'))).toEqual([])
    expect((await hub.app.inject({ method: 'GET', url: '/v1/releases', headers: bearer(token) })).json()).toMatchObject({ count: 0 })
    const refusals = (await auditActions(hub, token)).filter((a) => a === 'release.upload_refused')
    expect(refusals).toHaveLength(cases.length)
  })

  it('refuses a body over ota.maxBundleBytes with 413, from Content-Length or while streaming, leaving no temp file', async () => {
    const hub = await build({ config: { ota: { maxBundleBytes: 64 * 1024 } } })
    const token = await hub.login(hub.admin)
    const dir = useTempDir()
    const key = newReleaseKey()
    await trustKey(hub, token, key)
    const big = readFileSync((await makeBundle(dir, { key, payloadBytes: 200_000 })).path)
    const declared = await upload(hub, token, big)
    expect(declared.statusCode).toBe(413)
    expect(declared.json()).toMatchObject({ code: 'RELEASE_ERR_BUNDLE_TOO_LARGE' })
    // No Content-Length (chunked): cut off while streaming.
    const { Readable } = await import('node:stream')
    const chunked = await hub.app.inject({
      method: 'POST',
      url: '/v1/releases',
      headers: { ...bearer(token), 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      payload: Readable.from([big.subarray(0, 50_000), big.subarray(50_000)]),
    })
    expect(chunked.statusCode, chunked.body).toBe(413)
    expect(chunked.json()).toMatchObject({ code: 'RELEASE_ERR_BUNDLE_TOO_LARGE' })
    expect(readdirSync(join(hub.dataDir, 'releases', '.incoming'))).toEqual([])
  })

  it('release keys: a private key or a non-Ed25519 key is refused; config keys cannot be removed through the API', async () => {
    const dir = useTempDir()
    const configured = newReleaseKey()
    writeFileSync(join(dir, 'release.pub.pem'), configured.publicKeyPem)
    const hub = await build({ config: { ota: { trustedKeyFiles: [join(dir, 'release.pub.pem')] } } })
    const token = await hub.login(hub.admin)
    const priv = await hub.app.inject({ method: 'POST', url: '/v1/release-keys', headers: bearer(token), payload: { name: 'oops', publicKeyPem: configured.privateKeyPem } })
    expect(priv.json()).toMatchObject({ code: 'RELEASE_ERR_KEY_INVALID' })
    const { generateKeyPairSync } = await import('node:crypto')
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const wrongType = await hub.app.inject({ method: 'POST', url: '/v1/release-keys', headers: bearer(token), payload: { name: 'rsa', publicKeyPem: rsa } })
    expect(wrongType.statusCode).toBe(400)
    expect(wrongType.json()).toMatchObject({ code: 'RELEASE_ERR_KEY_INVALID' })
    const remove = await hub.app.inject({ method: 'DELETE', url: `/v1/release-keys/${configured.keyId}`, headers: bearer(token) })
    expect(remove.statusCode).toBe(409)
    // The configured key verifies uploads.
    const created = await upload(hub, token, readFileSync((await makeBundle(dir, { key: configured })).path))
    expect(created.statusCode, created.body).toBe(201)
  })

  it('a viewer may read releases but not upload, delete or add keys', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    const viewer = await viewerToken(hub, admin)
    const key = newReleaseKey()
    expect((await hub.app.inject({ method: 'POST', url: '/v1/release-keys', headers: bearer(viewer), payload: { name: 'x', publicKeyPem: key.publicKeyPem } })).statusCode).toBe(403)
    await trustKey(hub, admin, key)
    const refused = await upload(hub, viewer, Buffer.from('x'))
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ code: 'HUB_ERR_FORBIDDEN' })
    expect((await hub.app.inject({ method: 'GET', url: '/v1/releases', headers: bearer(viewer) })).statusCode).toBe(200)
    expect((await upload(hub, '', Buffer.from('x'))).statusCode).toBe(401)
  })
})

describe('hub releases: bundle download for devices', () => {
  async function offeredRelease(hub: TestHub) {
    const token = await hub.login(hub.admin)
    const dir = useTempDir()
    const key = newReleaseKey()
    await trustKey(hub, token, key)
    const device = await enrolDevice(hub, token, { group: 'site-a' })
    const outsider = await enrolDevice(hub, token, { group: 'site-b' })
    const bytes = readFileSync((await makeBundle(dir, { key, payloadBytes: 500_000 })).path)
    const release = (await upload(hub, token, bytes)).json() as { id: string; bundleSha256: string }
    const rollout = await hub.app.inject({ method: 'POST', url: '/v1/rollouts', headers: bearer(token), payload: { releaseId: release.id, target: { group: 'site-a' }, waves: [{ percent: 100 }] } })
    expect(rollout.statusCode, rollout.body).toBe(201)
    return { token, device, outsider, bytes, release, path: `/v1/releases/${release.id}/bundle` }
  }

  it('serves the whole file, and a resume from the middle (206) gives identical bytes', async () => {
    const hub = await build()
    const { device, bytes, release, path } = await offeredRelease(hub)
    const whole = await deviceGet(hub, device, path)
    expect(whole.statusCode).toBe(200)
    expect(whole.headers['accept-ranges']).toBe('bytes')
    expect(whole.headers.etag).toBe(`"${release.bundleSha256}"`)
    expect(Number(whole.headers['content-length'])).toBe(bytes.length)
    expect(whole.rawPayload.equals(bytes)).toBe(true)

    const middle = Math.floor(bytes.length / 2)
    const firstHalf = await deviceGet(hub, device, path, { range: `bytes=0-${middle - 1}` })
    expect(firstHalf.statusCode).toBe(206)
    expect(firstHalf.headers['content-range']).toBe(`bytes 0-${middle - 1}/${bytes.length}`)
    const rest = await deviceGet(hub, device, path, { range: `bytes=${middle}-`, 'if-range': `"${release.bundleSha256}"` })
    expect(rest.statusCode).toBe(206)
    expect(rest.headers['content-range']).toBe(`bytes ${middle}-${bytes.length - 1}/${bytes.length}`)
    expect(Number(rest.headers['content-length'])).toBe(bytes.length - middle)
    expect(Buffer.concat([firstHalf.rawPayload, rest.rawPayload]).equals(bytes)).toBe(true)

    const suffix = await deviceGet(hub, device, path, { range: 'bytes=-100' })
    expect(suffix.statusCode).toBe(206)
    expect(suffix.rawPayload.equals(bytes.subarray(bytes.length - 100))).toBe(true)
    // If-Range naming another version: the whole current file, 200.
    const stale = await deviceGet(hub, device, path, { range: `bytes=${middle}-`, 'if-range': '"0000"' })
    expect(stale.statusCode).toBe(200)
    expect(stale.rawPayload.length).toBe(bytes.length)
  })

  it('answers 416 with Content-Range for ranges it cannot satisfy', async () => {
    const hub = await build()
    const { device, bytes, path } = await offeredRelease(hub)
    for (const range of [`bytes=${bytes.length}-`, 'bytes=10-5', 'bytes=0-1,5-9', 'items=0-5', 'bytes=abc']) {
      const response = await deviceGet(hub, device, path, { range })
      expect(response.statusCode, range).toBe(416)
      expect(response.headers['content-range'], range).toBe(`bytes */${bytes.length}`)
      expect(response.json(), range).toMatchObject({ code: 'RELEASE_ERR_RANGE_NOT_SATISFIABLE', details: { bundleBytes: bytes.length } })
    }
  })

  it('refuses devices the release is not offered to, unsigned requests, and admins (device route)', async () => {
    const hub = await build()
    const { token, outsider, path } = await offeredRelease(hub)
    const notOffered = await deviceGet(hub, outsider, path)
    expect(notOffered.statusCode).toBe(403)
    expect(notOffered.json()).toMatchObject({ code: 'RELEASE_ERR_NOT_OFFERED' })
    const unsigned = await hub.app.inject({ method: 'GET', url: path, headers: bearer(token) })
    expect(unsigned.statusCode).toBe(401)
    expect(unsigned.json()).toMatchObject({ code: 'HUB_ERR_DEVICE_UNAUTHENTICATED' })
  })

  it('refuses to delete a release a running rollout uses', async () => {
    const hub = await build()
    const { token, release } = await offeredRelease(hub)
    const refused = await hub.app.inject({ method: 'DELETE', url: `/v1/releases/${release.id}`, headers: bearer(token) })
    expect(refused.statusCode).toBe(409)
    expect(refused.json()).toMatchObject({ code: 'RELEASE_ERR_IN_USE' })
  })
})
