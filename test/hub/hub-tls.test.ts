import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HUB_SERVER_CERT_FILE, loadHubTls } from '../../cloud/bootstrap/hub-tls-files.js'
import { rotateServerCertificate } from '../../cloud/bootstrap/hub-tls-init.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { resolveHubConfig, hubServesTls } from '../../cloud/hub-config.js'
import { ensureEnrolled } from '../../edge/hub-link/enrolment.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { caPin, createCertificateAuthority, issueServerCertificate } from '../../shared/pki/local-ca.js'
import { formatEnrolmentToken, parseEnrolmentToken } from '../../shared/protocol/enrolment-token.js'
import { silentLogger } from '../../shared/log/logger.js'
import { startRealHub } from '../harness/real-hub.js'
import { useTempDir } from '../helpers/temp-dir.js'

describe('enrolment token format (<secret>.<CA pin hex>)', () => {
  it('joins and splits a secret and a pin; refuses what is not of the form', () => {
    const pin = `sha256:${'ab'.repeat(32)}`
    const token = formatEnrolmentToken('A'.repeat(43), pin)
    expect(token).toBe(`${'A'.repeat(43)}.${'ab'.repeat(32)}`)
    expect(parseEnrolmentToken(token)).toEqual({ secret: 'A'.repeat(43), caPin: pin })
    expect(parseEnrolmentToken(` ${token}\n`)).toEqual({ secret: 'A'.repeat(43), caPin: pin })
    expect(parseEnrolmentToken('A'.repeat(43))).toEqual({ secret: 'A'.repeat(43), caPin: undefined })
    for (const bad of ['', 'short', `${'A'.repeat(43)}.${'ab'.repeat(31)}`, `${'A'.repeat(43)}.${'zz'.repeat(32)}`, `${'A'.repeat(43)}.${'ab'.repeat(32)}.x`, `a b.${'ab'.repeat(32)}`]) {
      expect(parseEnrolmentToken(bad), bad).toBeUndefined()
    }
    expect(() => formatEnrolmentToken('A'.repeat(43), 'sha256:nothex')).toThrow(RangeError)
  })
})

describe('hub TLS identity', () => {
  it('TLS is on by default and says so in one plain config field', () => {
    expect(hubServesTls(resolveHubConfig({}))).toBe(true)
    expect(resolveHubConfig({}).http.insecureHttp).toBe(false)
    expect(hubServesTls(resolveHubConfig({ http: { insecureHttp: true } }))).toBe(false)
  })

  it('takes an operator\'s certificate, key and CA; refuses a key or CA that does not belong to the certificate', async () => {
    const files = useTempDir('cloudos-hub-tls-files-')
    const ca = await createCertificateAuthority({ commonName: 'Operator CA' })
    const server = await issueServerCertificate(ca, { commonName: 'hub.example', hosts: ['hub.example', '127.0.0.1'] })
    const other = await createCertificateAuthority({ commonName: 'Another CA' })
    const write = (name: string, text: string) => {
      writeFileSync(join(files, name), text)
      return join(files, name)
    }
    const certFile = write('cert.pem', server.certPem)
    const keyFile = write('key.pem', server.keyPem)
    const caFile = write('ca.pem', ca.certPem)
    const wrongKey = await refusal(initHub({ dataDir: useTempDir(), adminPassword: 'a long operator password', tls: { certFile, keyFile: write('other-key.pem', other.keyPem), caFile } }))
    expect(wrongKey).toMatchObject({ code: 'HUB_ERR_TLS_UNREADABLE' })
    const wrongCa = await refusal(initHub({ dataDir: useTempDir(), adminPassword: 'a long operator password', tls: { certFile, keyFile, caFile: write('other-ca.pem', other.certPem) } }))
    expect(wrongCa).toMatchObject({ code: 'HUB_ERR_TLS_UNREADABLE', message: expect.stringContaining('was not issued by the CA') })

    const dataDir = useTempDir()
    const init = await initHub({ dataDir, adminPassword: 'a long operator password', tls: { certFile, keyFile, caFile } })
    expect(init).toMatchObject({ caPin: caPin(ca.certPem), ownCa: false })
    // The chain served ends with the CA, where edges look for the pinned one.
    expect(loadHubTls(dataDir, {}).cert.endsWith(ca.certPem.trim() + '\n')).toBe(true)
    await expect(rotateServerCertificate(dataDir, ['127.0.0.1'])).rejects.toMatchObject({ code: 'HUB_ERR_TLS_UNREADABLE' })
  })

  it('rotates the server certificate under the same CA: the pin stays, and an enrolled edge trusts the new certificate without a change', async () => {
    const hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
    try {
      const { token } = await hub.createEnrolmentToken()
      const identity = await ensureEnrolled({ dataDir: useTempDir(), hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: silentLogger })
      const before = readFileSync(join(hub.dataDir, HUB_SERVER_CERT_FILE), 'utf8')
      const rotated = await rotateServerCertificate(hub.dataDir, ['127.0.0.1', 'localhost'])
      expect(rotated.caPin).toBe(hub.caPin)
      expect(readFileSync(join(hub.dataDir, HUB_SERVER_CERT_FILE), 'utf8')).not.toBe(before)
      await hub.stop()
      await hub.start()
      const client = new HubClient({ url: hub.url, hubCaPem: identity.hubCaPem, timeoutMs: 5000, credentials: { deviceId: identity.deviceId, privateKey: identity.privateKey } })
      expect((await client.get('/v1/devices/me')).status).toBe(200)
      client.close()
    } finally {
      await hub.dispose()
    }
  })
})

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('accepted')
    },
    (err: unknown) => err,
  )
}
