import type { NabEvalReport } from './nab-eval.js'

/** The human-readable `cloudos model eval --nab` report: one line per profile. */
export function formatNabReport(report: NabEvalReport): string {
  const subject =
    report.model !== undefined
      ? `model ${report.model.name} ${report.model.version} (sha256 ${report.model.sha256.slice(0, 12)})`
      : `results in ${report.resultsDir ?? '?'}`
  const lines = [
    `NAB evaluation of ${subject}`,
    `corpus ${report.dir}: ${report.files} files, ${report.rows.toLocaleString('en-US')} rows, ${report.windows} anomaly windows; profiles from ${report.profilesFrom}`,
    '',
    `${'profile'.padEnd(20)} ${'score'.padStart(7)}  ${'threshold'.padStart(10)}  ${'raw'.padStart(9)}  ${'TP'.padStart(4)} ${'FP'.padStart(5)} ${'FN'.padStart(4)}`,
  ]
  for (const result of Object.values(report.profiles)) {
    const score = Number.isNaN(result.normalisedScore) ? 'n/a' : result.normalisedScore.toFixed(2)
    const threshold = Number.isFinite(result.threshold) ? result.threshold.toPrecision(6) : 'none'
    lines.push(
      `${result.profile.padEnd(20)} ${score.padStart(7)}  ${threshold.padStart(10)}  ${result.rawScore.toFixed(3).padStart(9)}  ` +
        `${String(result.truePositives).padStart(4)} ${String(result.falsePositives).padStart(5)} ${String(result.falseNegatives).padStart(4)}`,
    )
  }
  const anyOptimised = Object.values(report.profiles).some((r) => r.thresholdOptimised)
  lines.push(
    '',
    'score: 0 = null detector (never detects), 100 = perfect detector. ' +
      (anyOptimised ? 'Threshold optimised per profile over the corpus, as NAB does; "none": detecting nothing scored best.' : 'Threshold fixed with --threshold.'),
  )
  if (report.detectSeconds > 0) lines.push(`detector run time: ${report.detectSeconds.toFixed(1)} s`)
  return `${lines.join('\n')}\n`
}
