/**
 * The simulator's public API: generated sensors (`startSimulator`) and CSV
 * replay (`replayCsv`), both returning a `SimulatorHandle`. Used by the
 * `cloudos simulate` command and by `cloudos demo` to run in-process.
 */
export { startSimulator } from './generated-simulation.js'
export { replayCsv } from './csv-replay.js'
export type { SimulatorHandle, SimulatorStats, FinishReason } from './simulation-run.js'
export type { ConnectionOptions, PublishOptions, SimulatorOptions, ReplayOptions } from './simulator-options.js'
export { PUBLISH_DEFAULTS, SIMULATOR_DEFAULTS, LIMITS } from './simulator-options.js'
export type { ReplayPacing, ReplayTimestamps } from './replay-timing.js'
export type { PublishTarget } from './reading-publisher.js'
export type { TelemetryTransport, ConnectionStats } from './telemetry-transport.js'
export { MemoryTransport } from './memory-transport.js'
export { SENSOR_KINDS, type SensorKind } from './sensor-kinds.js'
export { ANOMALY_KINDS, type AnomalyKind } from './anomaly-injector.js'
export { SimulatorError, isSimulatorError, type SimulatorErrorCode } from './simulator-errors.js'
export { formatProgressLine, formatSummaryLine } from './progress-lines.js'
