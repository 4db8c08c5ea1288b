import type { QoS } from 'mqtt-packet'

/**
 * The ingest benchmark's scenarios and the targets the issue sets for them
 * (on a 2-core machine, publishers included).
 */
export const ingestScenarioIds = ['qos0-single', 'qos1-single', 'qos1-batch100'] as const
export type IngestScenarioId = (typeof ingestScenarioIds)[number]

export interface IngestScenario {
  id: IngestScenarioId
  label: string
  qos: QoS
  /** Readings in each MQTT message: 1 = `{"ts","value"}`, more = `{"readings":[...]}`. */
  readingsPerMessage: number
  /** Which of the run sizes (settings) applies: single-reading or batched. */
  size: 'single' | 'batched'
  targetReadingsPerSecond: number
}

export const ingestScenarios: Readonly<Record<IngestScenarioId, IngestScenario>> = {
  'qos0-single': {
    id: 'qos0-single',
    label: 'QoS 0, 1 reading/message',
    qos: 0,
    readingsPerMessage: 1,
    size: 'single',
    targetReadingsPerSecond: 120_000,
  },
  'qos1-single': {
    id: 'qos1-single',
    label: 'QoS 1, 1 reading/message',
    qos: 1,
    readingsPerMessage: 1,
    size: 'single',
    targetReadingsPerSecond: 60_000,
  },
  'qos1-batch100': {
    id: 'qos1-batch100',
    label: 'QoS 1, 100 readings/message',
    qos: 1,
    readingsPerMessage: 100,
    size: 'batched',
    targetReadingsPerSecond: 1_000_000,
  },
}

/** Ours must commit at least this many times the hand-built baseline's readings/s. */
export const TARGET_RATIO_VS_BASELINE = 1.5

/** The scenario measured on the secure listener too, against the plain one in the same runs. */
export const SECURE_SCENARIO: IngestScenarioId = 'qos1-single'

/** The secure listener must keep at least this share of the plain listener's readings/s (issue 12: within 15%). */
export const TARGET_SECURE_RATIO = 0.85

/** Peak resident set of the edge process under this load. */
export const TARGET_EDGE_PEAK_RSS_BYTES = 80 * 1024 * 1024

export function parseScenarioList(text: string): IngestScenarioId[] {
  const ids = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const id of ids) {
    if (!(ingestScenarioIds as readonly string[]).includes(id)) {
      throw new Error(`unknown scenario "${id}"; choose from ${ingestScenarioIds.join(', ')}`)
    }
  }
  return ids as IngestScenarioId[]
}
