import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { readReplayCsv } from '../../shared/simulator/replay-csv.js'
import { replayCsv, startSimulator, type PublishTarget } from '../../shared/simulator/index.js'
import { cloudosBin, packageRoot } from '../../shared/package-root.js'
import type { TelemetryReading } from '../../shared/telemetry.js'

// The design folder `shared/` sits beside the checkout (see the product brief).
const NAB = join(packageRoot(), '..', 'shared', 'datasets', 'nab', 'data')
const EC2_CPU = join(NAB, 'realAWSCloudwatch', 'ec2_cpu_utilization_24ae8d.csv')

interface SeriesSummary {
  sensorId: string
  metric: string
  readingCount: number
}
interface EdgeStats {
  received: number
  stored: number
  rejectedTotal: number
  rejected: Record<string, number>
}

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

beforeAll(() => {
  // spawnEdge and the CLI run bin/cloudos.js, which loads the compiled dist/.
  if (!existsSync(join(packageRoot(), 'dist', 'shared', 'simulator', 'index.js'))) {
    throw new Error('dist/ has no simulator build: run `npm run build` first (npm test does it)')
  }
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloudos-sim-it-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function startEdge(dataDir = join(tempDir(), 'data'), ports: { mqttPort?: number; httpPort?: number } = {}): Promise<EdgeChild> {
  const edge = await spawnEdge({ dataDir, ...ports })
  cleanups.push(() => edge.stop())
  return edge
}

async function getJson<T>(edge: EdgeChild, path: string): Promise<T> {
  const response = await fetch(`${edge.endpoints.httpUrl}${path}`)
  expect(response.status, path).toBe(200)
  return (await response.json()) as T
}

async function storedReadings(edge: EdgeChild, sensorId: string, metric: string): Promise<TelemetryReading[]> {
  const body = await getJson<{ readings: TelemetryReading[] }>(edge, `/v1/readings?sensor=${sensorId}&metric=${metric}&limit=100000`)
  // Compared with what was published: the anomaly score beside each reading is not part of that.
  return body.readings.map(({ ts, value }) => ({ ts, value }))
}

async function series(edge: EdgeChild, prefix: string): Promise<SeriesSummary[]> {
  const body = await getJson<{ sensors: SeriesSummary[] }>(edge, '/v1/sensors')
  return body.sensors.filter((s) => s.sensorId.startsWith(prefix))
}

/** QoS 0 has no acknowledgement to wait for: poll the edge until it has stored `count`. */
async function waitForStored(edge: EdgeChild, count: number, timeoutMs = 10_000): Promise<EdgeStats> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const stats = await getJson<EdgeStats>(edge, '/v1/stats')
    if (stats.stored >= count || Date.now() > deadline) return stats
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Groups what the simulator handed to MQTT by series, in publish order. */
function recorder() {
  const published = new Map<string, TelemetryReading[]>()
  return {
    published,
    onPublish(target: PublishTarget, readings: readonly TelemetryReading[]) {
      const key = `${target.sensorId}/${target.metric}`
      const list = published.get(key) ?? []
      list.push(...readings)
      published.set(key, list)
    },
  }
}

function runCli(args: string[], options: { interruptAfterStartLine?: boolean } = {}) {
  const child = spawn(process.execPath, [cloudosBin(), 'simulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (options.interruptAfterStartLine && stdout.includes('\n')) setTimeout(() => child.kill('SIGINT'), 700)
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('simulator against a real edge process', () => {
  it('generated QoS 1: every reading published is stored, in order, with the same values', async () => {
    const edge = await startEdge()
    const record = recorder()
    const sim = await startSimulator({
      mqttUrl: edge.endpoints.mqttUrl,
      sensorCount: 3,
      idPrefix: 'gen',
      readingsPerSecond: 200,
      maxReadings: 300,
      seed: 42,
      anomalyChancePerSecond: 0,
      onPublish: record.onPublish,
    })
    cleanups.push(() => sim.stop())
    const stats = await sim.done
    expect(stats).toMatchObject({ finished: 'count', readingsPublished: 300, readingsAcked: 300, readingsFailed: 0, disconnects: 0 })
    // QoS 1 PUBACK means committed: no waiting needed.
    const edgeStats = await getJson<EdgeStats>(edge, '/v1/stats')
    expect(edgeStats).toMatchObject({ received: 300, stored: 300, rejectedTotal: 0 })
    expect(await series(edge, 'gen-')).toMatchObject([
      { sensorId: 'gen-01', metric: 'temperature', readingCount: 100 },
      { sensorId: 'gen-02', metric: 'humidity', readingCount: 100 },
      { sensorId: 'gen-03', metric: 'vibration', readingCount: 100 },
    ])
    for (const [key, sent] of record.published) {
      const [sensorId, metric] = key.split('/') as [string, string]
      const stored = await storedReadings(edge, sensorId, metric)
      expect(stored).toEqual(sent)
      // 200 readings/s: one every 5 ms, stamped with the time it was due.
      for (let i = 1; i < stored.length; i++) expect(stored[i]!.ts - stored[i - 1]!.ts).toBe(5)
    }
  })

  it('generated QoS 0 in batches: all readings arrive', async () => {
    const edge = await startEdge()
    const sim = await startSimulator({ mqttUrl: edge.endpoints.mqttUrl, sensorCount: 5, idPrefix: 'q0', readingsPerSecond: 1000, qos: 0, readingsPerMessage: 10, maxReadings: 2000, seed: 7 })
    cleanups.push(() => sim.stop())
    const stats = await sim.done
    expect(stats.readingsPublished).toBe(2000)
    expect(stats.messagesPublished).toBe(200)
    const edgeStats = await waitForStored(edge, 2000)
    expect(edgeStats).toMatchObject({ received: 2000, stored: 2000, rejectedTotal: 0 })
    const perSeries = await series(edge, 'q0-')
    expect(perSeries.map((s) => [s.metric, s.readingCount])).toEqual([
      ['temperature', 400], ['humidity', 400], ['vibration', 400], ['pressure', 400], ['power', 400],
    ])
  })

  it('replays a NAB file: values as in the CSV, timestamps spaced as in the file, the last one at the start', async () => {
    const edge = await startEdge()
    const rows = await readReplayCsv(EC2_CPU)
    const sim = await replayCsv({ mqttUrl: edge.endpoints.mqttUrl, file: EC2_CPU, pacing: { kind: 'rate', rowsPerSecond: 20_000 }, readingsPerMessage: 50 })
    cleanups.push(() => sim.stop())
    const stats = await sim.done
    expect(stats).toMatchObject({ finished: 'end-of-data', readingsPublished: rows.length, readingsAcked: rows.length })
    expect(sim.warnings).toEqual([])
    const stored = await storedReadings(edge, 'ec2_cpu_utilization_24ae8d', 'value')
    expect(stored).toHaveLength(4032)
    expect(stored.map((r) => r.value)).toEqual(rows.map((r) => r.value))
    expect(stored.map((r) => r.ts - stored[0]!.ts)).toEqual(rows.map((r) => r.ts - rows[0]!.ts))
    expect(stored[stored.length - 1]!.ts).toBe(stats.startedAt)
    expect((await getJson<EdgeStats>(edge, '/v1/stats')).rejectedTotal).toBe(0)
  })

  it('rides out an edge restart: QoS 1 readings published during the outage are stored after it', async () => {
    const dataDir = join(tempDir(), 'data')
    const first = await spawnEdge({ dataDir })
    const { mqttPort, httpPort, mqttUrl } = first.endpoints
    const record = recorder()
    const sim = await startSimulator({ mqttUrl, sensorCount: 2, idPrefix: 'rs', readingsPerSecond: 50, durationMs: 4000, seed: 9, anomalyChancePerSecond: 0, onPublish: record.onPublish })
    cleanups.push(() => sim.stop())
    await new Promise((r) => setTimeout(r, 800))
    await first.stop()
    await new Promise((r) => setTimeout(r, 1000))
    expect(sim.stats().connected).toBe(false)
    const publishedBeforeRestart = sim.stats().readingsPublished
    const second = await startEdge(dataDir, { mqttPort: mqttPort as number, httpPort })
    const stats = await sim.done
    expect(stats.disconnects).toBe(1)
    expect(stats.reconnects).toBe(1)
    expect(stats.readingsAcked).toBe(stats.readingsPublished)
    // Publishing went on after the restart (the backlog is sent once the in-flight window frees up).
    expect(stats.readingsPublished).toBeGreaterThan(publishedBeforeRestart)
    for (const [key, sent] of record.published) {
      const [sensorId, metric] = key.split('/') as [string, string]
      const stored = await storedReadings(second, sensorId, metric)
      // A message the old edge committed but could not acknowledge is sent again: duplicates, never gaps.
      expect(new Set(stored.map((r) => r.ts))).toEqual(new Set(sent.map((r) => r.ts)))
      expect(stored.length).toBeGreaterThanOrEqual(sent.length)
    }
  })
})

describe('cloudos simulate (CLI child process) against a real edge', () => {
  it('--count 50 publishes 50 readings and says so', async () => {
    const edge = await startEdge()
    const result = await runCli(['--mqtt', edge.endpoints.mqttUrl, '--count', '50', '--rate', '100', '--prefix', 'cli', '--seed', '1'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const [startLine, summary] = result.stdout.trim().split('\n')
    expect(startLine).toMatch(/^simulate: simulating 5 sensors .*sensors\/cli-01\.\.cli-05\/<kind> at 100 readings\/s each to mqtt:\/\/127\.0\.0\.1:\d+, QoS 1, seed 1$/)
    expect(summary).toMatch(/^simulate: count after [\d.]+ s: 50 readings in 50 messages published, 50 acked, 0 failed, 0 unacknowledged/)
    const perSeries = await series(edge, 'cli-')
    expect(perSeries.map((s) => s.readingCount)).toEqual([10, 10, 10, 10, 10])
    const temperature = await storedReadings(edge, 'cli-01', 'temperature')
    for (const reading of temperature) {
      expect(reading.value).toBeGreaterThan(5)
      expect(reading.value).toBeLessThan(40)
    }
  })

  it('--replay with --speed paces by the file\'s spacing and keeps it in the timestamps', async () => {
    const edge = await startEdge()
    // 5-minute rows at 6000x: 50 ms apart, 19 gaps, about 0.95 s.
    const began = Date.now()
    const result = await runCli(['--mqtt', edge.endpoints.mqttUrl, '--replay', EC2_CPU, '--speed', '6000', '--count', '20', '--sensor', 'ec2-cpu', '--metric', 'cpu', '--batch', '2'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/as sensors\/ec2-cpu\/cpu .* at 6000x the original speed/)
    expect(result.stdout).toMatch(/end-of-data after ([\d.]+) s: 20 readings in 10 messages published, 20 acked/)
    const elapsed = Number(/end-of-data after ([\d.]+) s/.exec(result.stdout)?.[1])
    expect(elapsed).toBeGreaterThanOrEqual(0.9)
    expect(Date.now() - began).toBeLessThan(15_000)
    const rows = (await readReplayCsv(EC2_CPU)).slice(0, 20)
    const stored = await storedReadings(edge, 'ec2-cpu', 'cpu')
    expect(stored.map((r) => r.value)).toEqual(rows.map((r) => r.value))
    expect(stored.map((r) => r.ts - stored[0]!.ts)).toEqual(rows.map((r) => r.ts - rows[0]!.ts))
  })

  it('a bad CSV line exits 2 naming file and line, and publishes nothing', async () => {
    const edge = await startEdge()
    const file = join(tempDir(), 'bad.csv')
    writeFileSync(file, 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,12..5\n')
    const result = await runCli(['--mqtt', edge.endpoints.mqttUrl, '--replay', file])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`SIM_ERR_CSV_FORMAT: ${file}:3: value "12..5" is not a finite number`)
    expect((await getJson<EdgeStats>(edge, '/v1/stats')).received).toBe(0)
  })

  it('a bad flag names the flag and what is allowed', async () => {
    const qos = await runCli(['--qos', '2', '--count', '1'])
    expect(qos.code).toBe(1)
    expect(qos.stderr).toContain("option '--qos <level>' argument '2' is invalid. Allowed choices are 0, 1.")
    const rate = await runCli(['--rate', 'fast'])
    expect(rate.stderr).toContain('--rate must be a number above 0 and at most 100000 (got "fast")')
    const mixed = await runCli(['--replay', EC2_CPU, '--seed', '3'])
    expect(mixed.code).toBe(1)
    expect(mixed.stderr).toContain('--seed applies to generated mode (without --replay) only')
  })

  it('SIGINT stops cleanly with a summary, and what was acknowledged is stored', async () => {
    const edge = await startEdge()
    const result = await runCli(['--mqtt', edge.endpoints.mqttUrl, '--rate', '20', '--prefix', 'sig', '--anomaly-rate', '0'], { interruptAfterStartLine: true })
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('SIGINT received, stopping')
    const summary = /simulate: stopped after [\d.]+ s: (\d+) readings in \d+ messages published, (\d+) acked/.exec(result.stdout)
    expect(summary, result.stdout).not.toBeNull()
    const [published, acked] = [Number(summary![1]), Number(summary![2])]
    expect(published).toBeGreaterThan(0)
    expect(acked).toBe(published)
    const stored = (await series(edge, 'sig-')).reduce((sum, s) => sum + s.readingCount, 0)
    expect(stored).toBe(published)
  })
})
