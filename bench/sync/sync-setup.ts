import Database from 'better-sqlite3'
import { randomBytes, createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance } from 'fastify'
import { buildHubApp } from '../../cloud/app.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { formatEnrolmentToken } from '../../shared/protocol/enrolment-token.js'
import { HUB_DB_FILE } from '../../cloud/store/sqlite-database.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { OutboxConfigSchema, StorageConfigSchema, type OutboxConfig } from '../../shared/config/edge-config-schema.js'
import { spawnEdge } from '../../test/harness/edge-child.js'
import { databaseSizeBytes } from '../../shared/sqlite/database.js'
import { openEdgeStores } from './edge-stores.js'
import { writeSimulatedBacklog, type BacklogResult } from './simulated-backlog.js'

const HOUR_MS = 3_600_000

export const defaultOutboxConfig = (): OutboxConfig => Value.Default(OutboxConfigSchema, {}) as OutboxConfig
/** The edge's default byte budget (storage.maxBytes). */
export const defaultMaxBytes = (): number => (Value.Default(StorageConfigSchema, {}) as { maxBytes: number }).maxBytes

export interface FilledBacklog extends BacklogResult {
  /** Edge database bytes in use after the fill (pages in use, as the budget counts them). */
  dbBytes: number
  /** Sum of the sealed batches' codec bytes. */
  sealedBytes: number
  batches: number
  /** Readings the budget dropped during the fill (0 when it fits). */
  dropped: number
  fillSeconds: number
}

export interface FillOptions {
  hours: number
  sensors: number
  readingsPerSecond: number
  seed?: number
  maxBytes?: number
  onProgress?: (hoursDone: number, readings: number) => void
}

/**
 * Fills an edge data dir with `hours` of simulated sensors ending just before
 * now (so every window is closed and sealed), on an accelerated clock through
 * the commit path, sealing as it goes and running retention under the
 * budget every simulated hour, as an edge offline for that long would.
 */
export function fillOfflineBacklog(dataDir: string, options: FillOptions): FilledBacklog {
  const config = defaultOutboxConfig()
  const maxBytes = options.maxBytes ?? defaultMaxBytes()
  const alignedNow = Math.floor((Date.now() - config.sealDelayMs - 1000) / config.windowMs) * config.windowMs
  const start = alignedNow - options.hours * HOUR_MS
  let simulatedNow = start
  const stores = openEdgeStores(dataDir, config, () => simulatedNow)
  const started = performance.now()
  try {
    let nextRetention = start + HOUR_MS
    const result = writeSimulatedBacklog(
      {
        commit: (series, count) => stores.sink.commit(series, count),
        seal: (at) => {
          simulatedNow = at
          stores.outbox.seal(at)
          if (at >= nextRetention) {
            stores.retention.run({ retentionDays: 30, maxBytes, deadLetterMaxRows: 100_000 })
            nextRetention += HOUR_MS
          }
        },
      },
      { sensors: options.sensors, readingsPerSecond: options.readingsPerSecond, start, durationMs: options.hours * HOUR_MS, seed: options.seed ?? 42, commitEveryMs: 10_000, sealEveryMs: config.windowMs },
      (ms, readings) => options.onProgress?.(ms / HOUR_MS, readings),
    )
    simulatedNow = alignedNow + config.windowMs + config.sealDelayMs
    stores.outbox.seal(simulatedNow)
    stores.retention.run({ retentionDays: 30, maxBytes, deadLetterMaxRows: 100_000 })
    const sums = stores.db.prepare('SELECT count(*) AS batches, coalesce(sum(byte_size), 0) AS bytes FROM outbox_batches').get() as { batches: number; bytes: number }
    return {
      ...result,
      dbBytes: databaseSizeBytes(stores.db),
      sealedBytes: sums.bytes,
      batches: sums.batches,
      dropped: stores.outbox.droppedReadings(),
      fillSeconds: (performance.now() - started) / 1000,
    }
  } finally {
    stores.close()
  }
}

export interface BenchHub {
  url: string
  dataDir: string
  enrolmentToken: string
  app: FastifyInstance
  /** Readings stored for all devices (telemetry_devices), read from the hub database. */
  readingsStored(): number
  /** Sum of stored batch bytes. */
  storedBytes(): number
  close(): Promise<void>
}

/** An initialised hub on loopback with one enrolment token, its telemetry limits at their defaults. */
export async function startBenchHub(dataDir: string): Promise<BenchHub> {
  const init = await initHub({ dataDir, adminPassword: randomBytes(18).toString('base64url'), tls: { hosts: ['127.0.0.1'] } })
  const secret = `et_${randomBytes(24).toString('base64url')}`
  // What the edge is given: the secret and the hub CA pin (the hub serves HTTPS, as it does by default).
  const enrolmentToken = formatEnrolmentToken(secret, init.caPin)
  const store = SqliteHubStore.open(dataDir)
  const now = Date.now()
  await store.enrolmentTokens.create({
    id: `et-bench-${randomBytes(4).toString('hex')}`,
    tokenHash: createHash('sha256').update(secret).digest('hex'),
    group: 'bench',
    tier: 'edge',
    createdBy: 'bench',
    createdAt: now,
    expiresAt: now + 24 * HOUR_MS,
    usedAt: null,
    deviceId: null,
  })
  await store.close()
  const app = await buildHubApp({ dataDir, livenessTimer: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const reader = new Database(join(dataDir, HUB_DB_FILE), { readonly: true })
  const readingsStmt = reader.prepare('SELECT coalesce(sum(readings), 0) AS n FROM telemetry_devices')
  const bytesStmt = reader.prepare('SELECT coalesce(sum(length(bytes)), 0) AS n FROM telemetry_batches')
  return {
    url: `https://127.0.0.1:${port}`,
    dataDir,
    enrolmentToken,
    app,
    readingsStored: () => (readingsStmt.get() as { n: number }).n,
    storedBytes: () => (bytesStmt.get() as { n: number }).n,
    async close() {
      reader.close()
      await app.close()
    },
  }
}

export interface DrainResult {
  seconds: number
  readings: number
  readingsPerSecond: number
}

/**
 * Starts `cloudos edge` (a child process) on a filled data dir, enrolled with
 * the hub, and times until the hub has stored `expectedReadings`: the drain
 * after reconnect, end to end over loopback (signing, HTTP, decoding and
 * validating on the hub, one SQLite transaction per batch).
 */
export async function drainToHub(options: { edgeDataDir: string; hub: BenchHub; expectedReadings: number; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<DrainResult> {
  const configFile = join(options.edgeDataDir, 'bench-edge.json')
  writeFileSync(configFile, JSON.stringify({ outbox: { uploadIntervalMs: 200 }, hub: { backoffInitialMs: 100, backoffMaxMs: 1000, requestTimeoutMs: 30_000 } }))
  const started = performance.now()
  const edge = await spawnEdge({
    dataDir: options.edgeDataDir,
    config: configFile,
    extraArgs: ['--hub', options.hub.url, '--enroll-token', options.hub.enrolmentToken],
    ...(options.env === undefined ? {} : { env: options.env }),
    readyTimeoutMs: 60_000,
  })
  try {
    const deadline = Date.now() + options.timeoutMs
    for (;;) {
      const stored = options.hub.readingsStored()
      if (stored >= options.expectedReadings) {
        const seconds = (performance.now() - started) / 1000
        return { seconds, readings: stored, readingsPerSecond: stored / seconds }
      }
      if (Date.now() > deadline) throw new Error(`drain timed out: the hub stored ${stored} of ${options.expectedReadings} readings`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  } finally {
    await edge.stop()
  }
}
