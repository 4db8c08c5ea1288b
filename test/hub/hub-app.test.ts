import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildHubApp } from '../../cloud/app.js'
import { resolveHubConfig } from '../../cloud/hub-config.js'
import type { HubStore } from '../../cloud/store/hub-store.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { CloudosError } from '../../shared/errors.js'
import { bearer, build } from './helper.js'

/** The only /v1 routes that take no bearer token or device signature. */
// Routes that take a binary body (application/octet-stream), streamed or hashed as received: no JSON body schema.
const BINARY_ROUTES = ['/v1/telemetry/batches', '/v1/releases']
const PUBLIC_ROUTES = ['/v1/auth/login', '/v1/devices/enroll']

describe('hub app', () => {
  it('answers /healthz and /readyz', async () => {
    const { app } = await build()
    const health = await app.inject('/healthz')
    expect(health.statusCode).toBe(200)
    expect(health.json()).toMatchObject({ status: 'ok', hubId: expect.stringMatching(/^hub-/) })
    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', checks: { store: true } })
  })

  it('reports not ready (503) when storage stops answering', async () => {
    const hub = await build()
    const store = SqliteHubStore.open(hub.dataDir)
    const failing: HubStore = {
      users: store.users,
      sessions: store.sessions,
      audit: store.audit,
      enrolmentTokens: store.enrolmentTokens,
      devices: store.devices,
      fleet: store.fleet,
      alerts: store.alerts,
      hubAlerts: store.hubAlerts,
      telemetry: store.telemetry,
      releaseKeys: store.releaseKeys,
      releases: store.releases,
      rollouts: store.rollouts,
      config: store.config,
      replayNonces: store.replayNonces,
      ping: async () => {
        throw new Error('disk gone')
      },
      close: () => store.close(),
    }
    const app = await buildHubApp({ dataDir: hub.dataDir, store: failing })
    try {
      const response = await app.inject('/readyz')
      expect(response.statusCode).toBe(503)
      expect(response.json()).toEqual({ status: 'not_ready', checks: { store: false } })
    } finally {
      await app.close()
    }
  })

  it('serves Prometheus metrics from its own registry', async () => {
    const { app } = await build()
    await app.inject('/healthz')
    const metrics = await app.inject('/metrics')
    expect(metrics.statusCode).toBe(200)
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/)
    expect(metrics.body).toMatch(/cloudos_hub_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/)
    expect(metrics.body).toContain('cloudos_hub_process_')
    expect(metrics.body).not.toContain('cloudos_edge_')
  })

  it('serves OpenAPI at /docs with request and response schemas on every route', async () => {
    const { app } = await build()
    const ui = await app.inject('/docs/')
    expect(ui.statusCode).toBe(200)
    expect(ui.headers['content-type']).toMatch(/text\/html/)
    const spec = (await app.inject('/docs/json')).json() as {
      openapi: string
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: unknown; parameters?: unknown; security?: unknown }>>
    }
    expect(spec.openapi).toMatch(/^3\./)
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/auth/login', '/v1/users', '/v1/audit', '/v1/audit/verify', '/v1/enrolment-tokens', '/v1/devices', '/v1/devices/enroll', '/v1/devices/me', '/v1/devices/{deviceId}', '/v1/devices/{deviceId}/revoke']) {
      expect(spec.paths, path).toHaveProperty([path])
    }
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const codes = Object.keys(operation.responses ?? {})
        expect(codes.some((c) => /^2\d\d$/.test(c)), `${method} ${path} success response`).toBe(true)
        if (path !== '/metrics') expect(codes, `${method} ${path} error response`).toContain('4XX')
        // A write route validates what it takes: a body, or path parameters.
        if (method === 'post' && !BINARY_ROUTES.includes(path)) expect(operation.requestBody ?? operation.parameters, `${method} ${path} request schema`).toBeDefined()
        if (path.startsWith('/v1/') && !PUBLIC_ROUTES.includes(path)) expect(operation.security, `${method} ${path} security`).toBeDefined()
      }
    }
  })

  it('refuses every non-public /v1 route without credentials (401 with a coded body)', async () => {
    const { app } = await build()
    const spec = (await app.inject('/docs/json')).json() as { paths: Record<string, Record<string, unknown>> }
    let checked = 0
    for (const [path, methods] of Object.entries(spec.paths)) {
      if (!path.startsWith('/v1/') || PUBLIC_ROUTES.includes(path)) continue
      for (const method of Object.keys(methods)) {
        const url = path.replace('{deviceId}', 'dev-00000000-0000-0000-0000-000000000000')
        const body =
          method !== 'post'
            ? {}
            : BINARY_ROUTES.includes(path)
              ? { payload: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } }
              : { payload: {} }
        const response = await app.inject({ method: method.toUpperCase() as 'GET', url, ...body })
        expect(response.statusCode, `${method} ${path}`).toBe(401)
        expect(response.json().code, `${method} ${path}`).toMatch(/^HUB_ERR_(DEVICE_)?UNAUTHENTICATED$/)
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(9)
  })

  it('answers unknown routes with HUB_ERR_NOT_FOUND', async () => {
    const { app } = await build()
    const response = await app.inject('/v1/nothing-here')
    expect(response.statusCode).toBe(404)
    expect(response.json()).toMatchObject({ code: 'HUB_ERR_NOT_FOUND', message: 'no route GET /v1/nothing-here', hint: expect.any(String) })
  })

  it('refuses an oversize body with HUB_ERR_BODY_TOO_LARGE before reading it', async () => {
    const hub = await build({ config: { http: { bodyLimitBytes: 2048 } } })
    const response = await hub.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'admin', password: 'x'.repeat(4096), totp: '123456' },
    })
    expect(response.statusCode).toBe(413)
    expect(response.json()).toMatchObject({ code: 'HUB_ERR_BODY_TOO_LARGE', message: 'the request body is larger than 2048 bytes' })
  })

  it('refuses malformed JSON, unknown keys, missing fields and wrong content types with coded errors', async () => {
    const { app } = await build()
    const malformed = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"username": ' })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json().code).toBe('HUB_ERR_INVALID_REQUEST')

    const unknownKey = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'a', password: 'b', totp: '1', admin: true } })
    expect(unknownKey.statusCode).toBe(400)
    expect(unknownKey.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('additional properties') })

    const missing = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'a', password: 'b' } })
    expect(missing.statusCode).toBe(400)
    expect(missing.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('totp') })

    const text = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'text/csv' }, payload: 'a,b' })
    expect(text.statusCode).toBe(415)
    expect(text.json().code).toBe('HUB_ERR_UNSUPPORTED_MEDIA_TYPE')
  })

  it('validates query strings', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const response = await hub.app.inject({ url: '/v1/audit?limit=0', headers: bearer(token) })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('limit') })
  })

  it('refuses to build on a data dir that was never initialised, saying how to initialise', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloudos-hub-empty-'))
    try {
      const attempt = buildHubApp({ dataDir })
      await expect(attempt).rejects.toBeInstanceOf(CloudosError)
      await expect(attempt).rejects.toMatchObject({ code: 'HUB_ERR_NOT_INITIALISED', message: expect.stringContaining(`cloudos hub init --data-dir ${dataDir}`) })
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('refuses to start with a private key others can read', async () => {
    const hub = await build()
    chmodSync(join(hub.dataDir, 'hub-key.pem'), 0o644)
    await expect(buildHubApp({ dataDir: hub.dataDir })).rejects.toMatchObject({ code: 'HUB_ERR_IDENTITY_UNREADABLE', message: expect.stringContaining('chmod 600') })
  })

  it('validates its config: defaults filled, unknown keys named', () => {
    const config = resolveHubConfig({})
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 1024 * 1024, trustProxy: false, insecureHttp: false })
    expect(Object.isFrozen(config.auth)).toBe(true)
    expect(() => resolveHubConfig({ auth: { tokenTTL: 5 } })).toThrow(/unknown key "auth.tokenTTL"/)
    expect(() => resolveHubConfig({ http: { bodyLimitBytes: 1 } })).toThrow(/http.bodyLimitBytes/)
  })
})
