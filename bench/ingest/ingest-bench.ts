import { BASELINE_FLUSH_INTERVAL_MS, BASELINE_FLUSH_ROWS } from './baseline-subscriber.js'
import { BenchSession } from '../processes/bench-session.js'
import { buildReport, scenarioReport, type BaselineInfo, type IngestBenchReport, type ScenarioReport } from './ingest-report.js'
import { runBaseline, runOurs, type BenchSystem, type IngestRunResult, type RunContext } from './ingest-run.js'
import { ingestScenarios, SECURE_SCENARIO, type IngestScenario } from './ingest-scenarios.js'
import { prepareSecureListener } from './secure-listener.js'
import type { IngestBenchSettings } from './ingest-settings.js'
import { machineFacts } from '../measure/machine-facts.js'
import { findMosquitto } from './mosquitto-broker.js'

export interface IngestBenchHooks {
  /** One line per finished run, for a progress display. */
  onRun?: (scenario: IngestScenario, system: BenchSystem, runIndex: number, result: IngestRunResult) => void
  onNotice?: (message: string) => void
}

/**
 * `cloudos bench ingest`: for each scenario, `runs` times, one run against the
 * edge and one against the hand-built Mosquitto baseline (interleaved, so
 * drift in the machine's state hits both alike), each with fresh processes
 * and a fresh data folder. Every child process is killed when it ends,
 * however it ends.
 */
export async function runIngestBench(settings: IngestBenchSettings, hooks: IngestBenchHooks = {}): Promise<IngestBenchReport> {
  const machine = machineFacts()
  const session = new BenchSession('cloudos-bench-')
  const { reaper, workDir } = session
  try {
    const baseline = baselineInfo(settings)
    if (!baseline.info.measured) hooks.onNotice?.(`baseline skipped: ${baseline.info.skippedReason ?? ''}`)
    const secure = settings.secure && settings.scenarios.includes(SECURE_SCENARIO) ? await prepareSecureListener(workDir) : undefined
    const context: RunContext = {
      settings,
      reaper,
      workDir,
      ...(baseline.mosquittoPath === undefined ? {} : { mosquittoPath: baseline.mosquittoPath }),
      ...(secure === undefined ? {} : { secure }),
    }
    const reports: ScenarioReport[] = []
    for (const id of settings.scenarios) {
      const scenario = ingestScenarios[id]
      const ours: IngestRunResult[] = []
      const hand: IngestRunResult[] = []
      const oursSecure: IngestRunResult[] = []
      for (let run = 0; run < settings.runs; run++) {
        const oursResult = await runOurs(scenario, run, context)
        ours.push(oursResult)
        hooks.onRun?.(scenario, 'ours', run, oursResult)
        // Interleaved with the plain runs, so drift in the machine's state hits both alike.
        if (secure !== undefined && id === SECURE_SCENARIO) {
          const secureResult = await runOurs(scenario, run, context, 'secure')
          oursSecure.push(secureResult)
          hooks.onRun?.(scenario, 'ours-secure', run, secureResult)
        }
        if (context.mosquittoPath !== undefined) {
          const baselineResult = await runBaseline(scenario, run, context)
          hand.push(baselineResult)
          hooks.onRun?.(scenario, 'baseline', run, baselineResult)
        }
      }
      const readingsPerRun = scenario.size === 'single' ? settings.singleReadings : settings.batchedReadings
      reports.push(scenarioReport(scenario, readingsPerRun, ours, context.mosquittoPath === undefined ? null : hand, oursSecure.length === 0 ? null : oursSecure))
    }
    return buildReport(machine, settings, baseline.info, reports, secure?.description ?? null)
  } finally {
    session.close()
  }
}

function baselineInfo(settings: IngestBenchSettings): { info: BaselineInfo; mosquittoPath?: string } {
  const description =
    `Mosquitto + one mqtt.js subscriber (sensors/#, same QoS) inserting into better-sqlite3 ` +
    `(WAL, synchronous=NORMAL; table readings(sensor, metric, ts, value) indexed on (sensor, metric, ts); ` +
    `a transaction every ${BASELINE_FLUSH_ROWS.toLocaleString('en-US')} rows or ${BASELINE_FLUSH_INTERVAL_MS} ms)`
  if (!settings.baseline) return { info: { measured: false, skippedReason: 'disabled with --no-baseline', description } }
  const lookup = findMosquitto()
  if (!lookup.available) return { info: { measured: false, skippedReason: lookup.reason, description } }
  return {
    info: { measured: true, mosquittoVersion: lookup.version, description: `${description}; mosquitto ${lookup.version}` },
    mosquittoPath: lookup.path,
  }
}
