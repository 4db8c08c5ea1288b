import { spawn } from 'node:child_process'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCertificateAuthority, issueClientCertificate } from '../../shared/pki/local-ca.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { run, runCli, type ProcessResult } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { openRaw } from './broker-client-kit.js'

const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub'
const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub'

interface TlsFiles {
  ca: string
  cert: string
  key: string
  clientCert: string
  clientKey: string
}

/** mosquitto_pub over TLS: `--cafile` to verify the broker, and optionally a client certificate. */
function tlsPub(port: number, files: { cafile: string; cert?: string; key?: string }, topic: string, message: string, qos: 0 | 1 = 1): Promise<ProcessResult> {
  const args = ['-h', 'localhost', '-p', String(port), '--cafile', files.cafile, '-t', topic, '-m', message, '-q', String(qos), '-V', 'mqttv311']
  if (files.cert !== undefined && files.key !== undefined) args.push('--cert', files.cert, '--key', files.key)
  return run(MOSQUITTO_PUB, args, { timeoutMs: 10_000 })
}

/** The broker's TLS listener (mqtt.tls), driven by Debian's mosquitto clients. */
describe('the broker TLS listener', () => {
  let tmp: TempDir
  let files: TlsFiles
  let edge: TestEdge
  let tlsPort: number

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-tls-')
    const dataDir = join(tmp.path, 'data')
    const init = await runCli(['edge', 'tls', 'init', '--data-dir', dataDir, '--host', 'localhost', '127.0.0.1', '--client', 'sensor-1'])
    expect(init.code, init.stderr).toBe(0)
    const dir = join(dataDir, 'tls')
    files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), clientCert: join(dir, 'clients', 'sensor-1.crt'), clientKey: join(dir, 'clients', 'sensor-1.key') }
    expect(init.stdout).toContain(`"certFile": "${files.cert}"`)
    expect(init.stdout).toContain(files.ca)
    edge = await startTestEdge({ config: { mqtt: { tls: { certFile: files.cert, keyFile: files.key, port: 0, requireClientCert: false } } } })
    tlsPort = edge.endpoints.mqttTlsPort as number
  })
  afterAll(async () => {
    await edge?.stop()
    tmp?.remove()
  })

  it('tls init writes the keys 0600 and the certificates readable', () => {
    for (const key of [files.key, files.clientKey, join(files.ca, '..', 'ca.key')]) expect(statSync(key).mode & 0o777).toBe(0o600)
    expect(statSync(files.cert).mode & 0o777).toBe(0o644)
    expect(statSync(join(files.ca, '..')).mode & 0o777).toBe(0o700)
  })

  it('serves mosquitto_pub and mosquitto_sub with --cafile, on the same broker as the plain listener', async () => {
    expect(tlsPort).toBeGreaterThan(0)
    const sub = spawn(MOSQUITTO_SUB, ['-h', 'localhost', '-p', String(tlsPort), '--cafile', files.ca, '-t', 'site/#', '-v', '-V', 'mqttv311'])
    let received = ''
    sub.stdout.setEncoding('utf8').on('data', (d: string) => (received += d))
    const plain = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      // mosquitto_sub has subscribed when the broker routes to it: retry until it got one.
      await waitFor(async () => {
        const pub = await tlsPub(tlsPort, { cafile: files.ca }, 'site/tls', 'over tls', 0)
        expect(pub.code, pub.stderr).toBe(0)
        return received.includes('site/tls over tls')
      }, { what: 'mosquitto_sub to receive over TLS' })
      // A message on the plain listener reaches the TLS subscriber: one aedes behind both.
      await plain.publishAsync('site/plain', 'over tcp', { qos: 1 })
      await waitFor(() => received.includes('site/plain over tcp'), { what: 'the plain message at the TLS subscriber' })
    } finally {
      sub.kill()
      await closeQuietly(plain)
    }
  })

  it('stores telemetry published over TLS at QoS 1', async () => {
    const ts = Date.now() - 1000
    const result = await tlsPub(tlsPort, { cafile: files.ca }, 'sensors/tls-1/temp', JSON.stringify({ ts, value: 21.5 }))
    expect(result.code, result.stderr).toBe(0)
    const body = (await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=tls-1&metric=temp')).body
    expect(body.readings).toEqual([{ ts, value: 21.5, anomalyScore: null }])
  })

  it('is refused by a client that trusts another CA, and refuses plain MQTT on its port', async () => {
    const other = await createCertificateAuthority({ commonName: 'someone else' })
    const wrongCa = join(tmp.path, 'other-ca.crt')
    writeFileSync(wrongCa, other.certPem)
    const result = await tlsPub(tlsPort, { cafile: wrongCa }, 'sensors/tls-2/temp', '{"value":1}')
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/TLS|certificate|verify/i)
    const plainOnTlsPort = await openRaw(tlsPort, { clientId: 'plain', keepalive: 30 })
    expect(await plainOnTlsPort.connack).toBeNull()
    const count = (await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=tls-2&metric=temp')).body.count
    expect(count).toBe(0)
  })

  describe('with requireClientCert (mTLS)', () => {
    let mtls: TestEdge
    beforeAll(async () => {
      mtls = await startTestEdge({ config: { mqtt: { tls: { certFile: files.cert, keyFile: files.key, caFile: files.ca, requireClientCert: true, port: 0 } } } })
    })
    afterAll(async () => {
      await mtls?.stop()
    })

    it('accepts a client certificate issued by tls init --client, and refuses none or one from another CA', async () => {
      const port = mtls.endpoints.mqttTlsPort as number
      const withCert = await tlsPub(port, { cafile: files.ca, cert: files.clientCert, key: files.clientKey }, 'site/mtls', 'hello')
      expect(withCert.code, withCert.stderr).toBe(0)
      const without = await tlsPub(port, { cafile: files.ca }, 'site/mtls', 'hello')
      expect(without.code).not.toBe(0)
      const stranger = await createCertificateAuthority({ commonName: 'stranger CA' })
      const forged = await issueClientCertificate(stranger, { commonName: 'sensor-1' })
      writeFileSync(join(tmp.path, 'forged.crt'), forged.certPem)
      writeFileSync(join(tmp.path, 'forged.key'), forged.keyPem, { mode: 0o600 })
      const forgedResult = await tlsPub(port, { cafile: files.ca, cert: join(tmp.path, 'forged.crt'), key: join(tmp.path, 'forged.key') }, 'site/mtls', 'hello')
      expect(forgedResult.code).not.toBe(0)
    })
  })

  it('refuses to start with a missing certificate file, naming the key (EDGE_ERR_TLS_LISTENER)', async () => {
    await expect(startTestEdge({ config: { mqtt: { tls: { certFile: join(tmp.path, 'nope.crt'), keyFile: files.key, port: 0, requireClientCert: false } } } })).rejects.toMatchObject({
      code: 'EDGE_ERR_TLS_LISTENER',
      message: expect.stringContaining('mqtt.tls.certFile'),
    })
  })
})
