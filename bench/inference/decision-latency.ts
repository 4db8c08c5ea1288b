import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { CloudosError } from '../../shared/errors.js'
import { spawnEdge } from '../../test/harness/edge-child.js'
import { BackgroundLoad } from './background-load.js'
import { sleep } from '../measure/bench-clock.js'
import { percentile, roundMs } from '../measure/statistics.js'
import { stopChild, type ChildReaper } from '../processes/child-reaper.js'

export type DecisionMode = 'inference-on' | 'inference-off'

export interface DecisionLatencySettings {
  probes: number
  /** Probes at the start of a run that are not counted (connections, JIT, the model's windows). */
  warmupProbes: number
  probeIntervalMs: number
  backgroundReadingsPerSecond: number
  backgroundSensors: number
  /** Background load before the first probe, so every load series has a full window. */
  warmupMs: number
}

export interface DecisionRunResult {
  mode: DecisionMode
  samples: number
  /** Probes whose alert did not arrive within a second. */
  lost: number
  p50Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  /** The background rate achieved by the load process. */
  backgroundReadingsPerSecond: number
  /** The edge's inference counters at the end of the run (inference-on). */
  inference: { readingsScored: number; readingsSkipped: number; ticks: number; runFailures: number } | null
}

const PROBE_TOPIC = 'sensors/probe-1/temp'
const ALERT_TOPIC = 'alerts/probe-1/temp'

/**
 * End-to-end critical-decision latency: a real `cloudos edge` process, a
 * background-load process publishing steadily, and in this process an
 * mqtt.js sensor and an mqtt.js subscriber on `alerts/probe-1/temp`. Each
 * probe publishes a reading over the value rule's trigger (QoS 1) and times
 * until the alert arrives; a reading under the clear level then ends the
 * incident (hysteresis) before the next probe (same connection, so in order). With inference on, the model
 * also scores every background reading and an anomaly-score rule watches them.
 */
export async function runDecisionLatency(mode: DecisionMode, settings: DecisionLatencySettings, reaper: ChildReaper, workDir: string, runIndex: number): Promise<DecisionRunResult> {
  const dir = join(workDir, `decision-${mode}-${runIndex}`)
  mkdirSync(dir, { recursive: true })
  const configFile = join(dir, 'edge.json')
  writeFileSync(
    configFile,
    JSON.stringify({
      anomaly: { enabled: mode === 'inference-on' },
      rules: {
        'probe-critical': { sensor: 'probe-*', metric: 'temp', max: 100, clearMax: 50, cooldownSeconds: 0, severity: 'critical' },
        ...(mode === 'inference-on' ? { 'load-anomaly': { sensor: 'load-*', scoreMin: 0.9, clearScoreMin: 0.5, cooldownSeconds: 60 } } : {}),
      },
    }),
  )
  const edge = await spawnEdge({ dataDir: join(dir, 'data'), config: configFile })
  reaper.track(edge.child)
  const mqtt = (await import('mqtt')).default
  let load: BackgroundLoad | undefined
  const clients: MqttClient[] = []
  try {
    const port = edge.endpoints.mqttPort
    if (port === null) throw new CloudosError('BENCH_ERR_SETUP', 'the edge runs with an external broker; the benchmark needs the embedded one')
    // The model loads in the background of the edge's start: wait for it, so every run scores from its first reading.
    if (mode === 'inference-on') await waitForModel(edge.endpoints.httpUrl)
    load = await BackgroundLoad.start(
      { host: '127.0.0.1', port, readingsPerSecond: settings.backgroundReadingsPerSecond, sensors: settings.backgroundSensors },
      reaper,
    )
    const connect = async () => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0 })
      // A sensor sending critical readings should not wait on Nagle's algorithm either.
      ;(client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
      return client
    }
    const subscriber = await connect()
    clients.push(subscriber)
    const sensor = await connect()
    clients.push(sensor)
    await subscriber.subscribeAsync(ALERT_TOPIC, { qos: 0 })
    let waiting: ((state: string) => void) | undefined
    subscriber.on('message', (_topic, payload) => {
      const state = (JSON.parse(payload.toString()) as { state: string }).state
      waiting?.(state)
    })
    const until = (state: string, timeoutMs: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          waiting = undefined
          resolve(false)
        }, timeoutMs)
        waiting = (s) => {
          if (s !== state) return
          clearTimeout(timer)
          waiting = undefined
          resolve(true)
        }
      })
    load.go()
    await sleep(settings.warmupMs)
    const latencies: number[] = []
    let lost = 0
    for (let i = 0; i < settings.warmupProbes + settings.probes; i++) {
      const raised = until('raised', 1000)
      const started = performance.now()
      sensor.publish(PROBE_TOPIC, `{"ts":${Date.now()},"value":200}`, { qos: 1 })
      const arrived = await raised
      const elapsedMs = performance.now() - started
      if (i >= settings.warmupProbes) {
        if (arrived) latencies.push(elapsedMs)
        else lost++
      }
      // The clear reading goes on the same connection, so the edge sees it before the next probe.
      sensor.publish(PROBE_TOPIC, `{"ts":${Date.now()},"value":0}`, { qos: 1 })
      await sleep(settings.probeIntervalMs)
    }
    const background = await load.stop()
    const stats = (await (await fetch(`${edge.endpoints.httpUrl}/v1/stats`)).json()) as {
      inference: { enabled: boolean; readingsScored: number; readingsSkipped: number; ticks: number; runFailures: number }
    }
    latencies.sort((a, b) => a - b)
    return {
      mode,
      samples: latencies.length,
      lost,
      // No sample at all (every probe lost) shows as NaN: null in the JSON report.
      p50Ms: roundMs(percentile(latencies, 0.5) ?? Number.NaN),
      p99Ms: roundMs(percentile(latencies, 0.99) ?? Number.NaN),
      p999Ms: roundMs(percentile(latencies, 0.999) ?? Number.NaN),
      maxMs: roundMs(latencies.at(-1) ?? Number.NaN),
      backgroundReadingsPerSecond: background.readingsPerSecond,
      inference: stats.inference.enabled
        ? { readingsScored: stats.inference.readingsScored, readingsSkipped: stats.inference.readingsSkipped, ticks: stats.inference.ticks, runFailures: stats.inference.runFailures }
        : null,
    }
  } finally {
    for (const c of clients) await c.endAsync(true).catch(() => undefined)
    await load?.close()
    await stopChild(edge.child, 'SIGTERM', 15_000)
    rmSync(dir, { recursive: true, force: true })
  }
}

async function waitForModel(httpUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = (await (await fetch(`${httpUrl}/v1/model`)).json()) as { model: unknown; loadError: string | null }
    if (status.model !== null) return
    if (status.loadError !== null) throw new CloudosError('BENCH_ERR_SETUP', `the edge could not load its model: ${status.loadError}`)
    if (Date.now() > deadline) throw new CloudosError('BENCH_ERR_SETUP', 'the edge did not load its model in time')
    await sleep(100)
  }
}

