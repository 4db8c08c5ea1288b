import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { EdgeRuntime } from '../../edge/runtime.js'
import type { Logger } from '../../shared/log/logger.js'
import type { OtaTarget } from '../../shared/protocol/ota.js'
import { startHostileHub, type HostileHub } from '../harness/hostile-hub.js'
import { unsignedSingleFrame } from '../ota/bomb-bundles.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

type Release = NonNullable<OtaTarget['release']>

/** Every file and directory under `root` except `skip`, with a hash of each file: what must not change. */
function snapshot(root: string, skip: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name)
      if (full === skip) continue
      const stats = statSync(full)
      if (stats.isDirectory()) {
        out[`${relative(root, full)}/`] = 'dir'
        walk(full)
      } else out[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex')
    }
  }
  walk(root)
  return out
}

// A real in-process edge (embedded broker, SQLite, HTTP API) enrolled with a
// hostile hub that answers path-like identifiers. Issue 13: the old edge wrote
// <sandbox>/X.cosb and ran `rm -r <sandbox>/X.extract` for releaseId ../../../X.
describe('a hostile hub cannot make the edge touch files outside its data dir', () => {
  let sandbox: TempDir
  let dataDir: string
  let hub: HostileHub
  let runtime: EdgeRuntime
  let httpUrl: string
  let evil: Server
  let evilRequests = 0
  let evilUrl: string
  const logged: { level: string; message: string; fields?: Record<string, unknown> }[] = []
  const logger: Logger = {
    info: (message, fields) => logged.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message, fields) => logged.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message, fields) => logged.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
  }
  let before: Record<string, string>

  const lifetime = async (): Promise<Record<string, number>> => ((await (await fetch(`${httpUrl}/v1/stats`)).json()) as { lifetime: Record<string, number> }).lifetime
  const refusals = async (code: string) => (await lifetime())[`hub_refused.${code}`] ?? 0

  beforeAll(async () => {
    sandbox = makeTempDir('cloudos-hostile-')
    dataDir = join(sandbox.path, 'data')
    // What the old edge destroyed or created: a sibling of the data dir named by the hostile id.
    mkdirSync(join(sandbox.path, 'X.extract'), { recursive: true })
    writeFileSync(join(sandbox.path, 'X.extract', 'keep.txt'), 'operator data')
    writeFileSync(join(sandbox.path, 'keep.txt'), 'operator data')
    before = snapshot(sandbox.path, dataDir)
    evil = createServer((_req, res) => {
      evilRequests++
      res.end('stolen')
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    const address = evil.address()
    evilUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    hub = await startHostileHub({
      // The bundle route answers bytes for any id, so an unchecked path would be written.
      overrides: { bundle: () => ({ status: 200, body: Buffer.alloc(100, 7) }) },
    })
    const config = loadEdgeConfig(undefined, {
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      // The hostile hub is plain HTTP on loopback: these tests are about what a hub that passed the identity
      // check (a compromised one) can send; a hub that cannot prove the pinned identity is hub-identity.test.ts.
      hub: { url: hub.url, insecureHttp: true, heartbeatIntervalSeconds: 1, backoffInitialMs: 50, backoffMaxMs: 200 },
      config: { longPollSeconds: 1 },
      ota: { pollIntervalSeconds: 1 },
      anomaly: { enabled: false },
    })
    runtime = new EdgeRuntime({ dataDir, config, enrolmentToken: 'any-token-of-the-hostile-hub', logger })
    httpUrl = (await runtime.start()).httpUrl
  }, 60_000)

  afterAll(async () => {
    await runtime?.stop()
    await hub?.close()
    await new Promise((resolve) => evil?.close(resolve))
    sandbox?.remove()
  })

  const release = (fields: Partial<Release>): Release => ({
    releaseId: 'rel-1',
    rolloutId: 'ro-1',
    name: 'boiler-fw',
    version: '1.0.0',
    kind: 'firmware',
    bundleBytes: 100,
    bundleSha256: '0'.repeat(64),
    downloadPath: '/v1/releases/rel-1/bundle',
    allowDowngrade: false,
    ...fields,
  })

  async function expectEdgeUnharmed(): Promise<void> {
    expect(snapshot(sandbox.path, dataDir)).toEqual(before)
    expect(readFileSync(join(sandbox.path, 'X.extract', 'keep.txt'), 'utf8')).toBe('operator data')
    expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200)
    // The link keeps working: heartbeats still go out.
    await hub.answered('heartbeat', 1)
  }

  const hostileReleases: [string, Partial<Release>][] = [
    ['a releaseId climbing out of the data dir', { releaseId: '../../../X', downloadPath: '/v1/releases/X/bundle' }],
    ['an absolute releaseId', { releaseId: '/tmp/cloudos-hostile-abs', downloadPath: '/v1/releases/X/bundle' }],
    ['a releaseId with a NUL byte', { releaseId: 'rel\u0000/../../X', downloadPath: '/v1/releases/X/bundle' }],
    ['an over-long releaseId', { releaseId: 'r'.repeat(5000), downloadPath: '/v1/releases/X/bundle' }],
    ['a releaseId of ..', { releaseId: '..', downloadPath: '/v1/releases/X/bundle' }],
    ['a rolloutId with ../', { rolloutId: '../../X' }],
    ['a bundle name with ../', { name: '../../X' }],
    ['a version with ../', { version: '1.0.0/../../X' }],
  ]

  it.each(hostileReleases)('refuses %s before any file is touched (coded, counted, edge keeps running)', async (_what, fields) => {
    const counted = await refusals('EDGE_ERR_HUB_ANSWER_INVALID')
    hub.override('otaTarget', () => ({ status: 200, body: { release: release(fields) } }))
    await hub.answered('otaTarget', 2)
    await waitFor(async () => (await refusals('EDGE_ERR_HUB_ANSWER_INVALID')) >= counted + 2, { what: 'the refusals counted' })
    expect(logged.some((l) => l.level === 'error' && l.fields?.code === 'EDGE_ERR_HUB_ANSWER_INVALID')).toBe(true)
    await expectEdgeUnharmed()
    expect(hub.counts.bundle).toBe(0)
    hub.override('otaTarget', undefined)
  }, 30_000)

  it.each([
    ['an absolute URL to another host', () => `${evilUrl}/steal`],
    ['a scheme-relative URL', () => `//${new URL(evilUrl).host}/steal`],
    ['a path climbing with ..', () => '/v1/../../steal'],
  ])('never fetches a download path that is %s', async (_what, path) => {
    const counted = await refusals('EDGE_ERR_HUB_ANSWER_INVALID')
    hub.override('otaTarget', () => ({ status: 200, body: { release: release({ releaseId: 'rel-2', downloadPath: path() }) } }))
    await hub.answered('otaTarget', 2)
    await waitFor(async () => (await refusals('EDGE_ERR_HUB_ANSWER_INVALID')) >= counted + 2, { what: 'the refusals counted' })
    expect(evilRequests).toBe(0)
    await expectEdgeUnharmed()
    hub.override('otaTarget', undefined)
  }, 30_000)

  it.each([
    ['a group named ..', { group: '..' }],
    ['a group with ../', { group: '../../etc' }],
    ['a device id with a NUL byte', { deviceId: 'dev\u0000x' }],
  ])('refuses a config sync answer with %s and keeps its group', async (_what, fields) => {
    const counted = await refusals('EDGE_ERR_HUB_ANSWER_INVALID')
    hub.override('configSync', (_request, honest) => {
      const answer = honest()
      return { ...answer, body: { ...(answer.body as object), ...fields } }
    })
    await hub.answered('configSync', 2)
    await waitFor(async () => (await refusals('EDGE_ERR_HUB_ANSWER_INVALID')) >= counted + 2, { what: 'the refusals counted' })
    const config = (await (await fetch(`${httpUrl}/v1/config`)).json()) as { group: string }
    expect(config.group).toBe('site')
    await expectEdgeUnharmed()
    hub.override('configSync', undefined)
  }, 30_000)

  it('after all that, an honest target still installs into the data dir (the edge was not wedged)', async () => {
    hub.override('otaTarget', () => ({ status: 200, body: { release: release({ releaseId: 'rel-honest', downloadPath: '/v1/releases/rel-honest/bundle' }) } }))
    // The bytes are not a signed bundle: refused with a coded OTA error, reported, inside staging only.
    await waitFor(() => hub.reports.some((r) => r.releaseId === 'rel-honest' && r.state === 'failed'), { timeoutMs: 20_000, what: 'the failed report' })
    expect(hub.counts.bundle).toBeGreaterThan(0)
    await expectEdgeUnharmed()
    hub.override('otaTarget', undefined)
  }, 30_000)

  it('a decompression bomb from the hub (33 KB on the wire, 1 GiB inflated) is refused without inflating it: coded report, edge keeps running', async () => {
    const bomb = unsignedSingleFrame()
    const sha256 = createHash('sha256').update(bomb).digest('hex')
    const rssBefore = process.resourceUsage().maxRSS
    hub.override('bundle', () => ({ status: 200, body: bomb }))
    hub.override('otaTarget', () => ({
      status: 200,
      body: { release: release({ releaseId: 'rel-bomb', downloadPath: '/v1/releases/rel-bomb/bundle', bundleBytes: bomb.length, bundleSha256: sha256 }) },
    }))
    const report = await waitFor(() => hub.reports.find((r) => r.releaseId === 'rel-bomb' && r.state === 'failed'), { timeoutMs: 20_000, what: 'the failed report' })
    // Refused on what it is (no signature), found after the first window of the payload, not after inflating it.
    expect(report.code).toBe('OTA_ERR_UNSIGNED')
    // process-wide high-water mark (KiB): the old edge inflated the whole GiB before refusing (+1.1 GiB).
    expect((process.resourceUsage().maxRSS - rssBefore) / 1024).toBeLessThan(256)
    expect(readdirSync(join(dataDir, 'ota', 'staging')).filter((name) => name.startsWith('rel-bomb'))).toEqual([])
    await expectEdgeUnharmed()
    hub.override('otaTarget', undefined)
    hub.override('bundle', () => ({ status: 200, body: Buffer.alloc(100, 7) }))
  }, 30_000)
})

describe('a hostile hub at enrolment', () => {
  it.each([
    ['a device id climbing out of the data dir', { deviceId: '../../X' }],
    ['a group named ..', { group: '..' }],
    ['a hub id with a NUL byte', { hubId: 'hub\u0000x' }],
  ])('an enrolment answer with %s is refused: no identity stored, nothing outside the data dir', async (_what, fields) => {
    const sandbox = makeTempDir('cloudos-hostile-enrol-')
    const hub = await startHostileHub({
      overrides: {
        enrolment: (_request, honest) => {
          const answer = honest()
          return { ...answer, body: { ...(answer.body as object), ...fields } }
        },
      },
    })
    try {
      const dataDir = join(sandbox.path, 'data')
      const before = snapshot(sandbox.path, dataDir)
      const config = loadEdgeConfig(undefined, { mqtt: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, hub: { url: hub.url, insecureHttp: true } })
      await expect(new EdgeRuntime({ dataDir, config, enrolmentToken: 'any-token-of-the-hostile-hub' }).start()).rejects.toMatchObject({ code: 'EDGE_ERR_HUB_ANSWER_INVALID' })
      expect(hub.counts.enrolment).toBe(1)
      expect(readdirSync(dataDir).filter((name) => name.startsWith('device-'))).toEqual([])
      expect(snapshot(sandbox.path, dataDir)).toEqual(before)
    } finally {
      await hub.close()
      sandbox.remove()
    }
  })
})
