import type { InferenceBenchReport } from './inference-bench.js'

const n = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a')

/** The human-readable report of `cloudos bench inference`. */
export function formatInferenceReport(report: InferenceBenchReport): string {
  const { machine, model, decision } = report
  const lines: string[] = []
  lines.push(`cloudos bench inference${report.settings.quick ? ' --quick (machinery check, numbers not meaningful)' : ''}`)
  lines.push(`machine: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, load average at start ${machine.loadAverage.join(' / ')}`)
  lines.push('')
  lines.push(`(a) model latency per window: ${model.name} ${model.version} (window ${model.window}) on onnxruntime-node, medians of ${report.settings.modelRuns} runs`)
  lines.push('  batch   us/window   us/call    windows/s')
  for (const l of model.latency) {
    lines.push(`  ${String(l.batch).padStart(5)}   ${n(l.microsecondsPerWindow).padStart(9)}   ${n(l.microsecondsPerCall, 1).padStart(7)}   ${l.windowsPerSecond.toLocaleString('en-US').padStart(10)}`)
  }
  lines.push(`  batched vs one window per call: ${n(model.batchedSpeedup, 1)}x faster per window (target <= ${model.targetMicrosecondsPerWindow} us/window batched)`)
  lines.push('')
  lines.push(
    `(b) critical decision, sensor publish -> alert at an MQTT subscriber (real edge process, ${decision.inferenceOn.backgroundReadingsPerSecond.toLocaleString('en-US')} readings/s background load from another process), medians of ${report.settings.decisionRuns} runs`,
  )
  lines.push('  mode            p50 ms   p99 ms   p99.9 ms  samples/run  lost')
  for (const s of [decision.inferenceOn, decision.inferenceOff]) {
    lines.push(`  ${s.mode.padEnd(14)} ${n(s.p50Ms, 3).padStart(7)}  ${n(s.p99Ms, 3).padStart(7)}  ${n(s.p999Ms, 3).padStart(8)}  ${String(s.samplesPerRun).padStart(11)}  ${String(s.lost).padStart(4)}`)
  }
  lines.push(`  inference on / off: ${n(decision.ratioP50)}x at p50, ${n(decision.ratioP99)}x at p99 (target p99 < ${decision.targetP99Ms} ms; the seed demands < ${decision.seedTargetMs} ms)`)
  const inference = decision.inferenceOn.runs.map((r) => r.inference).filter((i) => i !== null)
  if (inference.length > 0) {
    const scored = inference.reduce((s, i) => s + i.readingsScored, 0)
    const skipped = inference.reduce((s, i) => s + i.readingsSkipped, 0)
    const ticks = inference.reduce((s, i) => s + i.ticks, 0)
    lines.push(`  inference on: ${scored.toLocaleString('en-US')} readings scored in ${ticks.toLocaleString('en-US')} model runs (${n(scored / Math.max(1, ticks), 1)} per run), ${skipped.toLocaleString('en-US')} skipped`)
  }
  return `${lines.join('\n')}\n`
}
