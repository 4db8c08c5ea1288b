import { ingestScenarioIds, type IngestScenarioId } from './ingest-scenarios.js'

/** Everything that shapes one `cloudos bench ingest` invocation. */
export interface IngestBenchSettings {
  /** Runs per scenario per system; the median is reported. */
  runs: number
  /** Publisher processes, one MQTT connection each. */
  publishers: number
  /** Readings per run in the single-reading scenarios. */
  singleReadings: number
  /** Readings per run in the batched scenario. */
  batchedReadings: number
  /** QoS 1: unacknowledged messages allowed per connection. */
  inflightWindow: number
  /** A run that has not committed everything by then ends as partial. */
  runTimeoutMs: number
  /** How often the edge's `GET /v1/stats` is polled. */
  pollIntervalMs: number
  /** After publishing ends, a count that does not grow for this long ends the run (dropped messages). */
  stallMs: number
  scenarios: IngestScenarioId[]
  /** Measure the hand-built Mosquitto baseline too. */
  baseline: boolean
  /** Measure the QoS 1 single-reading scenario on the secure listener (TLS) too. */
  secure: boolean
  /** Node flags for the edge process (e.g. a heap cap). */
  edgeNodeArgs: string[]
  /** Edge config file passed to `cloudos edge --config`. */
  edgeConfig?: string
  quick: boolean
}

export const defaultIngestBenchSettings: Readonly<IngestBenchSettings> = Object.freeze<IngestBenchSettings>({
  runs: 3,
  publishers: 2,
  // Large enough that a run lasts seconds at the targets (120k/s, 1M/s), so
  // start-up and the stats poll interval are noise.
  singleReadings: 600_000,
  batchedReadings: 3_000_000,
  inflightWindow: 5_000,
  runTimeoutMs: 120_000,
  pollIntervalMs: 20,
  stallMs: 3_000,
  scenarios: [...ingestScenarioIds],
  baseline: true,
  secure: true,
  edgeNodeArgs: [],
  quick: false,
})

/** `--quick`: tiny counts that prove the machinery works (tests), not the speed. */
export const quickSizes = { singleReadings: 5_000, batchedReadings: 50_000, runTimeoutMs: 20_000, stallMs: 1_500 } as const
