import { InvalidArgumentError, Option, type Command } from 'commander'
import type { PublishOptions, SimulatorHandle, SimulatorStats } from '../../shared/simulator/index.js'
import { LIMITS, SIMULATOR_DEFAULTS } from '../../shared/simulator/simulator-options.js'
import { IDENTIFIER_PATTERN } from '../../shared/telemetry.js'
import { integerFlag, numberFlag, urlFlag } from '../flags.js'
import { runUntilSignal } from '../run-until-signal.js'

interface SimulateFlags {
  mqtt: string
  sensors?: number
  rate?: number
  anomalyRate?: number
  seed?: number
  prefix?: string
  replay?: string
  sensor?: string
  metric?: string
  speed?: number
  timestamps?: 'shift' | 'original'
  qos: '0' | '1'
  batch: number
  duration?: number
  count?: number
  maxInFlight: number
  progressInterval: number
}

/** Flags that only make sense in one mode, so a mix-up is an error rather than silently ignored. */
const GENERATED_ONLY = { sensors: '--sensors', anomalyRate: '--anomaly-rate', seed: '--seed', prefix: '--prefix' } as const
const REPLAY_ONLY = { sensor: '--sensor', metric: '--metric', speed: '--speed', timestamps: '--timestamps' } as const

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('publish realistic sensor readings over MQTT, or replay a timestamp,value CSV file')
    .option('--mqtt <url>', 'MQTT broker to publish to', urlFlag('--mqtt', ['mqtt:', 'mqtts:']), 'mqtt://127.0.0.1:1883')
    .option('--sensors <n>', `generated: number of sensors (default ${SIMULATOR_DEFAULTS.sensorCount})`, integerFlag('--sensors', 1, LIMITS.sensorCount))
    .option('--rate <r>', `readings per second per sensor (generated, default ${SIMULATOR_DEFAULTS.readingsPerSecond}) or rows per second (replay, default 100); fractions allowed`, positiveNumberFlag('--rate', LIMITS.readingsPerSecond))
    .option('--anomaly-rate <p>', `generated: chance per sensor per second that a spike, stuck value or dropout starts (default ${SIMULATOR_DEFAULTS.anomalyChancePerSecond}; 0 disables)`, numberFlag('--anomaly-rate', 0, 1))
    .option('--seed <n>', 'generated: random seed, for a reproducible run (default: random, printed at start)', integerFlag('--seed', 0, 0xffffffff))
    .option('--prefix <id>', `generated: sensor id prefix, ids are <prefix>-01... (default ${SIMULATOR_DEFAULTS.idPrefix})`, identifierFlag('--prefix', 58))
    .option('--replay <file.csv>', 'replay this timestamp,value CSV file (e.g. a NAB data file) instead of generating')
    .option('--sensor <id>', 'replay: sensor id (default: the file name)', identifierFlag('--sensor', 64))
    .option('--metric <name>', 'replay: metric name (default value)', identifierFlag('--metric', 64))
    .addOption(new Option('--speed <x>', 'replay: keep the file\'s spacing divided by x (3600: an hour of data per second)').argParser(positiveNumberFlag('--speed', Number.MAX_SAFE_INTEGER)).conflicts('rate'))
    .addOption(new Option('--timestamps <mode>', 'replay: shift (the last row lands at the start, all in the past) or original (default shift)').choices(['shift', 'original']))
    .addOption(new Option('--qos <level>', 'MQTT QoS: 1 waits for the edge to commit each message').choices(['0', '1']).default('1'))
    .option('--batch <k>', `readings per message ({"readings": [...]} above 1; at most ${LIMITS.readingsPerMessage})`, integerFlag('--batch', 1, LIMITS.readingsPerMessage), 1)
    .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C or the end of the file)', positiveNumberFlag('--duration', 365 * 86_400))
    .option('--count <n>', 'stop after this many readings in total', integerFlag('--count', 1, Number.MAX_SAFE_INTEGER))
    .option('--max-in-flight <n>', 'messages published but not yet acknowledged, at most', integerFlag('--max-in-flight', 1, LIMITS.maxInFlight), 256)
    .option('--progress-interval <seconds>', 'seconds between progress lines on stderr (0: none)', numberFlag('--progress-interval', 0, 3600), 5)
    .action(async (flags: SimulateFlags, command: Command) => {
      checkModeFlags(flags, command)
      // Loaded here, not at the top: every `cloudos` command would otherwise pay for loading mqtt.js.
      const simulator = await import('../../shared/simulator/index.js')
      const { formatProgressLine, formatSummaryLine } = simulator
      let handle: SimulatorHandle
      try {
        handle = await start(simulator, flags)
      } catch (err) {
        if (!simulator.isSimulatorError(err)) throw err
        process.stderr.write(`cloudos: ${err.code}: ${err.message}\n  hint: ${err.hint}\n`)
        process.exit(2)
      }
      process.stdout.write(`simulate: ${handle.description}\n`)
      for (const warning of handle.warnings) process.stderr.write(`simulate: warning: ${warning}\n`)
      const progress = reportProgress(handle, flags.progressInterval, formatProgressLine)
      let summaryWritten: Promise<SimulatorStats> | undefined
      const finish = () =>
        (summaryWritten ??= handle.done.then((stats) => {
          clearInterval(progress)
          process.stdout.write(`${formatSummaryLine(stats)}\n`)
          return stats
        }))
      runUntilSignal(async () => {
        await handle.stop()
        await finish()
      }, (signal) => process.stderr.write(`simulate: ${signal} received, stopping\n`))
      const stats = await finish()
      const unacknowledged = stats.readingsPublished - stats.readingsAcked
      if (stats.finished === 'error' || unacknowledged > 0) process.exitCode = 1
    })
}

type SimulatorModule = typeof import('../../shared/simulator/index.js')

function start({ replayCsv, startSimulator }: SimulatorModule, flags: SimulateFlags): Promise<SimulatorHandle> {
  const common: PublishOptions & { mqttUrl: string } = {
    mqttUrl: flags.mqtt,
    qos: flags.qos === '0' ? 0 : 1,
    readingsPerMessage: flags.batch,
    maxInFlight: flags.maxInFlight,
    maxReadings: flags.count,
    durationMs: flags.duration === undefined ? undefined : flags.duration * 1000,
  }
  if (flags.replay !== undefined) {
    return replayCsv({
      ...common,
      file: flags.replay,
      sensorId: flags.sensor,
      metric: flags.metric,
      pacing:
        flags.speed !== undefined ? { kind: 'speed', speed: flags.speed }
        : flags.rate !== undefined ? { kind: 'rate', rowsPerSecond: flags.rate }
        : undefined,
      timestamps: flags.timestamps,
    })
  }
  return startSimulator({
    ...common,
    sensorCount: flags.sensors,
    readingsPerSecond: flags.rate,
    anomalyChancePerSecond: flags.anomalyRate,
    seed: flags.seed,
    idPrefix: flags.prefix,
  })
}

function checkModeFlags(flags: SimulateFlags, command: Command): void {
  const [misplaced, mode] = flags.replay === undefined ? [REPLAY_ONLY, 'replay (--replay FILE)'] : [GENERATED_ONLY, 'generated mode (without --replay)']
  for (const [key, flag] of Object.entries(misplaced)) {
    if (flags[key as keyof SimulateFlags] !== undefined) {
      command.error(`error: ${flag} applies to ${mode} only; remove it`, { exitCode: 1, code: 'cloudos.simulate.modeFlag' })
    }
  }
}

function reportProgress(
  handle: SimulatorHandle,
  intervalSeconds: number,
  formatProgressLine: SimulatorModule['formatProgressLine'],
): NodeJS.Timeout | undefined {
  if (intervalSeconds <= 0) return undefined
  let previous: SimulatorStats | undefined
  return setInterval(() => {
    const stats = handle.stats()
    process.stderr.write(`${formatProgressLine(stats, previous)}\n`)
    previous = stats
  }, intervalSeconds * 1000)
}

function positiveNumberFlag(flag: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) {
      throw new InvalidArgumentError(`${flag} must be a number above 0 and at most ${max} (got "${value}").`)
    }
    return n
  }
}

function identifierFlag(flag: string, maxLength: number): (value: string) => string {
  return (value) => {
    if (!IDENTIFIER_PATTERN.test(value) || value.length > maxLength) {
      throw new InvalidArgumentError(`${flag} must be 1-${maxLength} characters of A-Z a-z 0-9 _ - . : (got "${value}").`)
    }
    return value
  }
}
