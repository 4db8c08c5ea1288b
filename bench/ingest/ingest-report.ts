import type { IngestRunResult } from './ingest-run.js'
import {
  TARGET_EDGE_PEAK_RSS_BYTES,
  TARGET_RATIO_VS_BASELINE,
  TARGET_SECURE_RATIO,
  type IngestScenario,
  type IngestScenarioId,
} from './ingest-scenarios.js'
import type { IngestBenchSettings } from './ingest-settings.js'
import type { MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'

/** One system's runs of one scenario. */
export interface SystemSummary {
  medianReadingsPerSecond: number
  /** Every run committed every reading. */
  allComplete: boolean
  runs: IngestRunResult[]
}

export interface ScenarioReport {
  id: IngestScenarioId
  label: string
  qos: number
  readingsPerMessage: number
  readingsPerRun: number
  ours: SystemSummary
  /** null when the baseline was not measured. */
  baseline: SystemSummary | null
  /** ours / baseline medians. */
  ratio: number | null
  /** The edge on its secure listener (TLS), in the same runs; null when not measured for this scenario. */
  secure: SystemSummary | null
  /** secure / plain (ours) medians. */
  secureRatio: number | null
  target: { readingsPerSecond: number; ratio: number; secureRatio: number }
  pass: { readingsPerSecond: boolean; ratio: boolean | null; secureRatio: boolean | null }
}

export interface BaselineInfo {
  measured: boolean
  skippedReason?: string
  mosquittoVersion?: string
  description: string
}

/** The whole result of `cloudos bench ingest`, as printed by `--json`. */
export interface IngestBenchReport {
  benchmark: 'ingest'
  machine: MachineFacts
  settings: Omit<IngestBenchSettings, 'scenarios'> & { scenarios: string[] }
  baseline: BaselineInfo
  /** What the secure listener runs with, or null when it was not measured. */
  secureListener: string | null
  scenarios: ScenarioReport[]
  peakRss: {
    /** Largest VmHWM of the edge process over all runs. */
    edgeBytes: number | null
    targetBytes: number
    pass: boolean
    mosquittoBytes: number | null
    baselineSubscriberBytes: number | null
  }
  /** Every target met (ratios only where the baseline was measured). */
  pass: boolean
}

export function summarizeSystem(runs: IngestRunResult[]): SystemSummary {
  return {
    medianReadingsPerSecond: median(runs.map((r) => r.readingsPerSecond)),
    allComplete: runs.every((r) => r.end === 'complete'),
    runs,
  }
}

export function scenarioReport(
  scenario: IngestScenario,
  readingsPerRun: number,
  ours: IngestRunResult[],
  baseline: IngestRunResult[] | null,
  secure: IngestRunResult[] | null = null,
): ScenarioReport {
  const oursSummary = summarizeSystem(ours)
  const secureSummary = secure === null ? null : summarizeSystem(secure)
  const secureRatio = secureSummary === null || oursSummary.medianReadingsPerSecond <= 0 ? null : secureSummary.medianReadingsPerSecond / oursSummary.medianReadingsPerSecond
  const baselineSummary = baseline === null || baseline.length === 0 ? null : summarizeSystem(baseline)
  const ratio =
    baselineSummary === null || baselineSummary.medianReadingsPerSecond <= 0
      ? null
      : oursSummary.medianReadingsPerSecond / baselineSummary.medianReadingsPerSecond
  return {
    id: scenario.id,
    label: scenario.label,
    qos: scenario.qos,
    readingsPerMessage: scenario.readingsPerMessage,
    readingsPerRun,
    ours: oursSummary,
    baseline: baselineSummary,
    ratio,
    secure: secureSummary,
    secureRatio,
    target: { readingsPerSecond: scenario.targetReadingsPerSecond, ratio: TARGET_RATIO_VS_BASELINE, secureRatio: TARGET_SECURE_RATIO },
    pass: {
      readingsPerSecond: oursSummary.allComplete && oursSummary.medianReadingsPerSecond >= scenario.targetReadingsPerSecond,
      ratio: ratio === null ? null : oursSummary.allComplete && ratio >= TARGET_RATIO_VS_BASELINE,
      secureRatio: secureRatio === null || secureSummary === null ? null : secureSummary.allComplete && secureRatio >= TARGET_SECURE_RATIO,
    },
  }
}

export function buildReport(
  machine: MachineFacts,
  settings: IngestBenchSettings,
  baseline: BaselineInfo,
  scenarios: ScenarioReport[],
  secureListener: string | null = null,
): IngestBenchReport {
  const allRuns = scenarios.flatMap((s) => [...s.ours.runs, ...(s.secure?.runs ?? []), ...(s.baseline?.runs ?? [])])
  const peak = (pick: (r: IngestRunResult) => number | undefined): number | null => {
    const values = allRuns.map(pick).filter((v): v is number => v !== undefined)
    return values.length === 0 ? null : Math.max(...values)
  }
  const edgeBytes = peak((r) => r.peakRssBytes.edge)
  const rssPass = edgeBytes !== null && edgeBytes <= TARGET_EDGE_PEAK_RSS_BYTES
  return {
    benchmark: 'ingest',
    machine,
    settings: { ...settings, scenarios: [...settings.scenarios] },
    baseline,
    secureListener,
    scenarios,
    peakRss: {
      edgeBytes,
      targetBytes: TARGET_EDGE_PEAK_RSS_BYTES,
      pass: rssPass,
      mosquittoBytes: peak((r) => r.peakRssBytes.mosquitto),
      baselineSubscriberBytes: peak((r) => r.peakRssBytes.subscriber),
    },
    pass: rssPass && scenarios.every((s) => s.pass.readingsPerSecond && s.pass.ratio !== false && s.pass.secureRatio !== false),
  }
}
