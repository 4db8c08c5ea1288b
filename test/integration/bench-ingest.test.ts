import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { encodePublishes } from '../../bench/ingest/encoded-publishes.js'
import type { IngestBenchReport } from '../../bench/ingest/ingest-report.js'
import { ingestScenarioIds } from '../../bench/ingest/ingest-scenarios.js'
import { findMosquitto } from '../../bench/ingest/mosquitto-broker.js'
import { sensorsOfPublisher, workloadMessages, type WorkloadSpec } from '../../bench/ingest/telemetry-workload.js'
import { packageRoot } from '../../shared/package-root.js'

interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

function runCloudos(args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'cloudos.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Processes whose environment carries `marker` (children inherit it). */
function processesCarrying(marker: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) pids.push(Number(entry))
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return pids
}

describe('cloudos bench ingest', () => {
  it('measures every scenario for the edge and the Mosquitto baseline, and leaves no process behind', async () => {
    const marker = `CLOUDOS_BENCH_TEST_MARKER=${randomUUID()}`
    const [name, value] = marker.split('=') as [string, string]
    const result = await runCloudos(['bench', 'ingest', '--quick', '--json', '--runs', '1'], { ...process.env, [name]: value })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as IngestBenchReport

    expect(report.benchmark).toBe('ingest')
    expect(report.machine.cpus).toBeGreaterThan(0)
    expect(report.scenarios.map((s) => s.id)).toEqual([...ingestScenarioIds])
    for (const scenario of report.scenarios) {
      expect(scenario.ours.runs).toHaveLength(1)
      expect(scenario.ours.allComplete).toBe(true)
      expect(scenario.ours.medianReadingsPerSecond).toBeGreaterThan(0)
      expect(scenario.ours.runs[0]?.committedReadings).toBe(scenario.readingsPerRun)
    }
    expect(report.peakRss.edgeBytes).toBeGreaterThan(1024 * 1024)
    // QoS 1 single readings also went through the secure (TLS) listener, compared with the plain one.
    const secured = report.scenarios.find((s) => s.id === 'qos1-single')
    expect(secured?.secure?.runs).toHaveLength(1)
    expect(secured?.secure?.allComplete).toBe(true)
    expect(secured?.secureRatio).toBeGreaterThan(0)
    expect(report.secureListener).toMatch(/TLS/)

    const mosquitto = findMosquitto()
    expect(report.baseline.measured).toBe(mosquitto.available)
    if (mosquitto.available) {
      for (const scenario of report.scenarios) {
        expect(scenario.baseline?.runs).toHaveLength(1)
        expect(scenario.baseline?.medianReadingsPerSecond).toBeGreaterThan(0)
        expect(scenario.ratio).toBeGreaterThan(0)
      }
      expect(report.peakRss.mosquittoBytes).toBeGreaterThan(0)
      expect(report.peakRss.baselineSubscriberBytes).toBeGreaterThan(0)
    } else {
      expect(report.baseline.skippedReason).toMatch(/mosquitto/)
    }

    expect(processesCarrying(marker)).toEqual([])
    // ~20 s on a free 2-core machine (6 runs, each starting fresh processes); the
    // margin is for a machine busy with other test files.
  }, 120_000)

  it('fails with BENCH_ERR_SETUP when the edge cannot start', async () => {
    const args = ['bench', 'ingest', '--quick', '--runs', '1', '--scenarios', 'qos0-single', '--edge-config', '/nonexistent/edge.json']
    const result = await runCloudos(args, process.env)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/BENCH_ERR_SETUP: starting the edge .*CONFIG_ERR_UNREADABLE/s)
  })

  it('refuses an unknown scenario with a flag error', async () => {
    const result = await runCloudos(['bench', 'ingest', '--scenarios', 'qos2-single'], process.env)
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/--scenarios: unknown scenario "qos2-single"/)
  })
})

describe('bench workload and pre-encoded publishes', () => {
  const spec = (publisherIndex: number, readingsPerMessage = 1): WorkloadSpec => ({
    publisherIndex,
    publisherCount: 2,
    messages: 60,
    readingsPerMessage,
    sensorCount: 20,
    firstTs: 1_700_000_000_000,
    intervalMs: 10,
  })

  it('gives each sensor to one publisher, with increasing timestamps per sensor', () => {
    expect(sensorsOfPublisher(0, 2, 20)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
    const lastTs = new Map<string, number>()
    for (const p of [0, 1]) {
      for (const message of workloadMessages(spec(p, 3))) {
        const { readings } = JSON.parse(message.payload) as { readings: { ts: number; value: number }[] }
        expect(readings).toHaveLength(3)
        for (const r of readings) {
          expect(r.ts).toBeGreaterThan(lastTs.get(message.topic) ?? 0)
          expect(Number.isFinite(r.value)).toBe(true)
          lastTs.set(message.topic, r.ts)
        }
      }
    }
    expect([...lastTs.keys()].sort()).toHaveLength(20)
    expect(lastTs.has('sensors/bench-00/temperature')).toBe(true)
  })

  it('encodes valid MQTT 3.1.1 PUBLISH packets whose message id can be patched in place', () => {
    const encoded = encodePublishes(workloadMessages(spec(1)), 60, 1)
    encoded.bytes.writeUInt16BE(4242, encoded.messageIdOffsets[7] as number)
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const packets: Packet[] = []
    parser.on('packet', (p: Packet) => packets.push(p))
    parser.parse(encoded.bytes)
    expect(packets).toHaveLength(60)
    const seventh = packets[7] as IPublishPacket
    expect(seventh.cmd).toBe('publish')
    expect(seventh.qos).toBe(1)
    expect(seventh.messageId).toBe(4242)
    expect(seventh.topic).toBe('sensors/bench-15/temperature')
    expect(JSON.parse(seventh.payload.toString())).toMatchObject({ ts: expect.any(Number), value: expect.any(Number) })
    expect(encoded.starts[60]).toBe(encoded.bytes.length)
  })
})
