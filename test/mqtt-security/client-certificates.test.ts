import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server, type TLSSocket } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../edge/broker/embedded-broker.js'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { BrokerAccessControl } from '../../edge/broker/security/broker-access-control.js'
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type CertifiedKey } from '../../shared/pki/local-ca.js'
import { silentLogger } from '../../shared/log/logger.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { connackCode, mosquittoPubAs } from './mqtt-clients.js'

/**
 * The mTLS identity rule: a connection that is a `tls.TLSSocket` authorised
 * against the listener's CA authenticates as its certificate's CN. The TLS
 * listener of the edge is built elsewhere; this test serves the real
 * embedded broker through its own TLS server (local CA from shared/pki), as
 * that listener does, with `handleConnection`.
 */
describe('client certificates (mTLS): the CN is the username', () => {
  let dir: TempDir
  let broker: EmbeddedBroker
  let server: Server
  let port: number
  let ca: CertifiedKey
  let files: { ca: string; cert: string; key: string; otherCert: string; otherKey: string }
  const telemetry: string[] = []

  beforeAll(async () => {
    dir = makeTempDir('cloudos-mqtt-mtls-')
    ca = await createCertificateAuthority({ commonName: 'site CA' })
    const serverCert = await issueServerCertificate(ca, { commonName: 'edge', hosts: ['127.0.0.1', 'localhost'] })
    const boiler = await issueClientCertificate(ca, { commonName: 'boiler-1' })
    const otherCa = await createCertificateAuthority({ commonName: 'someone else' })
    const forged = await issueClientCertificate(otherCa, { commonName: 'boiler-1' })
    const write = (name: string, text: string) => {
      const path = join(dir.path, name)
      writeFileSync(path, text, { mode: 0o600 })
      return path
    }
    files = {
      ca: write('ca.pem', ca.certPem),
      cert: write('boiler.pem', boiler.certPem),
      key: write('boiler.key', boiler.keyPem),
      otherCert: write('forged.pem', forged.certPem),
      otherKey: write('forged.key', forged.keyPem),
    }
    // No anonymous clients: only a certificate (or a password, none here) gets in.
    const access = new BrokerAccessControl({ mqtt: { host: '127.0.0.1', allowAnonymous: false }, dataDir: dir.path, log: silentLogger })
    broker = new EmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      limits: loadEdgeConfig(undefined).mqtt.limits,
      access,
      onTelemetry: (topic, _payload, _qos, done) => {
        telemetry.push(topic)
        done()
      },
    })
    await broker.start()
    server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (socket: TLSSocket) =>
      broker.handleConnection(socket),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    await broker?.close()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    dir?.remove()
  })

  const tls = (cert?: CertifiedKey) => ({ ca: ca.certPem, ...(cert === undefined ? {} : { cert: cert.certPem, key: cert.keyPem }) })

  it('accepts a certificate of the site CA as its CN, with no password, under that user\'s ACL', async () => {
    const boiler = await issueClientCertificate(ca, { commonName: 'boiler-1' })
    const client = await connectMqtt(`mqtts://127.0.0.1:${port}`, { ...tls(boiler), clientId: 'boiler-tls' })
    try {
      await client.publishAsync('sensors/boiler-1/temp', '{"value":1}', { qos: 1 })
      await client.publishAsync('sensors/pump-7/temp', '{"value":1}', { qos: 1 })
      expect(telemetry).toEqual(['sensors/boiler-1/temp'])
    } finally {
      await closeQuietly(client)
    }
    // A username sent with the certificate must be the CN.
    expect(await connackCode(`mqtts://127.0.0.1:${port}`, { ...tls(boiler), username: 'boiler-1' })).toBe(0)
    expect(await connackCode(`mqtts://127.0.0.1:${port}`, { ...tls(boiler), username: 'pump-7', password: 'x' })).toBe(4)
  })

  it('does not take a certificate of another CA, nor a TLS connection without one, as an identity', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'attacker' })
    const forged = await issueClientCertificate(otherCa, { commonName: 'boiler-1' })
    expect(await connackCode(`mqtts://127.0.0.1:${port}`, tls(forged))).toBe(5)
    expect(await connackCode(`mqtts://127.0.0.1:${port}`, tls())).toBe(5)
    expect(broker.accessDenials()).toMatchObject({ connect_anonymous: 2, connect_certificate: 1 })
  })

  it('works with mosquitto_pub --cafile --cert --key, and refuses a forged certificate', async () => {
    const tlsArgs = (cert: string, key: string) => ['--cafile', files.ca, '--cert', cert, '--key', key]
    const ok = await mosquittoPubAs(port, {}, 'sensors/boiler-1/flow', '{"value":2}', { extra: tlsArgs(files.cert, files.key) })
    expect(ok.code, ok.stderr).toBe(0)
    expect(telemetry).toContain('sensors/boiler-1/flow')
    const forged = await mosquittoPubAs(port, {}, 'sensors/boiler-1/forged', '{"value":3}', { extra: tlsArgs(files.otherCert, files.otherKey) })
    expect(forged.code).not.toBe(0)
    expect(telemetry).not.toContain('sensors/boiler-1/forged')
  })
})
