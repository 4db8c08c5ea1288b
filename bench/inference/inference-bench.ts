import { BenchSession } from '../processes/bench-session.js'
import { runDecisionLatency, type DecisionLatencySettings, type DecisionMode, type DecisionRunResult } from './decision-latency.js'
import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'
import { measureModelLatency, type ModelLatencyResult } from './model-latency.js'

export interface InferenceBenchSettings {
  quick: boolean
  /** Batch sizes of the model-latency measurement. */
  batches: number[]
  windowsPerRun: number
  modelRuns: number
  /** End-to-end runs per mode (inference on / off), interleaved. */
  decisionRuns: number
  decision: DecisionLatencySettings
}

export const defaultInferenceBenchSettings: InferenceBenchSettings = {
  quick: false,
  batches: [1, 64, 512, 4096],
  windowsPerRun: 40_000,
  modelRuns: 5,
  decisionRuns: 3,
  decision: { probes: 1000, warmupProbes: 50, probeIntervalMs: 5, backgroundReadingsPerSecond: 10_000, backgroundSensors: 100, warmupMs: 3000 },
}

export const quickInferenceBenchSettings: InferenceBenchSettings = {
  quick: true,
  batches: [1, 64],
  windowsPerRun: 500,
  modelRuns: 1,
  decisionRuns: 1,
  decision: { probes: 40, warmupProbes: 5, probeIntervalMs: 2, backgroundReadingsPerSecond: 1000, backgroundSensors: 20, warmupMs: 500 },
}

export interface DecisionSummary {
  mode: DecisionMode
  /** Medians over runs. */
  p50Ms: number
  p99Ms: number
  p999Ms: number
  samplesPerRun: number
  lost: number
  backgroundReadingsPerSecond: number
  runs: DecisionRunResult[]
}

export interface InferenceBenchReport {
  benchmark: 'inference'
  machine: MachineFacts
  settings: InferenceBenchSettings
  model: { name: string; version: string; window: number; path: string; latency: ModelLatencyResult[]; batchedSpeedup: number; targetMicrosecondsPerWindow: number }
  decision: {
    inferenceOn: DecisionSummary
    inferenceOff: DecisionSummary
    /** inference on / inference off, at p50 and p99: the model's cost on the critical path. */
    ratioP50: number
    ratioP99: number
    targetP99Ms: number
    seedTargetMs: number
  }
}

export interface InferenceBenchHooks {
  onNotice?: (message: string) => void
  onDecisionRun?: (run: number, result: DecisionRunResult) => void
}

/**
 * `cloudos bench inference`: (a) the shipped model's latency per window on
 * onnxruntime-node, one window per call against batches of many series in
 * one call; (b) publish-to-alert latency through a real edge process under
 * 10,000 readings/s of background load, with inference on and off in the same
 * run (interleaved), so the model's cost on the critical path is visible.
 */
export async function runInferenceBench(settings: InferenceBenchSettings, hooks: InferenceBenchHooks = {}): Promise<InferenceBenchReport> {
  const machine = machineFacts()
  const { createDetector, defaultModelPath } = await import('../../shared/anomaly/index.js')
  const path = defaultModelPath()
  hooks.onNotice?.(`model latency: batches ${settings.batches.join(', ')}, ${settings.modelRuns} runs each`)
  const latency = await measureModelLatency(() => createDetector(path), { batches: settings.batches, windowsPerRun: settings.windowsPerRun, runs: settings.modelRuns })
  const probe = await createDetector(path)
  const model = probe.model
  await probe.close()
  const single = latency.find((l) => l.batch === 1)?.microsecondsPerWindow ?? Number.NaN
  const best = Math.min(...latency.filter((l) => l.batch > 1).map((l) => l.microsecondsPerWindow))

  const session = new BenchSession('cloudos-bench-inference-')
  const { reaper, workDir } = session
  const on: DecisionRunResult[] = []
  const off: DecisionRunResult[] = []
  try {
    for (let run = 0; run < settings.decisionRuns; run++) {
      for (const mode of ['inference-on', 'inference-off'] as const) {
        hooks.onNotice?.(`decision latency run ${run + 1}/${settings.decisionRuns}, ${mode}`)
        const result = await runDecisionLatency(mode, settings.decision, reaper, workDir, run)
        ;(mode === 'inference-on' ? on : off).push(result)
        hooks.onDecisionRun?.(run, result)
      }
    }
  } finally {
    session.close()
  }
  const inferenceOn = summarise('inference-on', on)
  const inferenceOff = summarise('inference-off', off)
  return {
    benchmark: 'inference',
    machine,
    settings,
    model: { name: model.name, version: model.version, window: model.window, path: model.path, latency, batchedSpeedup: round(single / best), targetMicrosecondsPerWindow: 20 },
    decision: {
      inferenceOn,
      inferenceOff,
      ratioP50: round(inferenceOn.p50Ms / inferenceOff.p50Ms),
      ratioP99: round(inferenceOn.p99Ms / inferenceOff.p99Ms),
      targetP99Ms: 2,
      seedTargetMs: 10,
    },
  }
}

function summarise(mode: DecisionMode, runs: DecisionRunResult[]): DecisionSummary {
  return {
    mode,
    p50Ms: round(median(runs.map((r) => r.p50Ms))),
    p99Ms: round(median(runs.map((r) => r.p99Ms))),
    p999Ms: round(median(runs.map((r) => r.p999Ms))),
    samplesPerRun: Math.round(median(runs.map((r) => r.samples))),
    lost: runs.reduce((sum, r) => sum + r.lost, 0),
    backgroundReadingsPerSecond: Math.round(median(runs.map((r) => r.backgroundReadingsPerSecond))),
    runs,
  }
}

const round = (n: number): number => Math.round(n * 1000) / 1000
