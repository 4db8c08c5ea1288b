import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError } from '../../shared/errors.js'
import { spawnEdge } from '../../test/harness/edge-child.js'
import { BaselineSubscriber } from './baseline-subscriber.js'
import { benchNow, sleep } from '../measure/bench-clock.js'
import { stopChild, type ChildReaper } from '../processes/child-reaper.js'
import { EdgeStatsSource, ReportedCommitSource, waitForCommitted, type CommitProgressSource, type CommitWaitEnd } from './commit-progress.js'
import type { IngestScenario } from './ingest-scenarios.js'
import type { IngestBenchSettings } from './ingest-settings.js'
import { MosquittoBroker } from './mosquitto-broker.js'
import { peakRssBytes } from '../measure/process-memory.js'
import { PublisherFleet, type FleetOutcome } from './publisher-fleet.js'
import { secureEdgeConfig, type PublisherSecurity, type SecureListener } from './secure-listener.js'

/** The edge on its plain listener, the edge on its secure listener, the Mosquitto baseline. */
export type BenchSystem = 'ours' | 'ours-secure' | 'baseline'

/** The outcome of one run of one scenario against one system. */
export interface IngestRunResult {
  /** "complete": every reading committed; otherwise why the run ended early. */
  end: CommitWaitEnd
  error?: string
  expectedReadings: number
  committedReadings: number
  /** From the first publish to the observation that the last reading was committed. */
  seconds: number
  /** committedReadings / seconds. */
  readingsPerSecond: number
  /** From the first publish until every publisher was done (written for QoS 0, acknowledged for QoS 1). */
  publishSeconds: number | undefined
  /** Peak RSS (VmHWM) per process, bytes. */
  peakRssBytes: { edge?: number; mosquitto?: number; subscriber?: number }
  notes: string[]
}

export interface RunContext {
  settings: IngestBenchSettings
  reaper: ChildReaper
  /** Scratch folder of this benchmark; each run gets a fresh subfolder. */
  workDir: string
  mosquittoPath?: string
  /** The secure listener's config and credentials (runs of 'ours-secure'). */
  secure?: SecureListener
}

export async function runOurs(scenario: IngestScenario, runIndex: number, context: RunContext, listener: 'plain' | 'secure' = 'plain'): Promise<IngestRunResult> {
  const { settings, reaper } = context
  const dataDir = join(context.workDir, `ours-${listener}-${scenario.id}-${runIndex}`)
  const secure = listener === 'secure' ? context.secure : undefined
  if (listener === 'secure' && secure === undefined) throw new CloudosError('BENCH_ERR_SETUP', 'the secure listener was not prepared')
  const config = secure === undefined ? settings.edgeConfig : writeSecureConfig(`${dataDir}.json`, settings.edgeConfig, secure)
  const edge = await setupStep('starting the edge (cloudos edge)', () =>
    spawnEdge({
      dataDir,
      nodeArgs: settings.edgeNodeArgs,
      ...(config === undefined ? {} : { config }),
    }),
  )
  reaper.track(edge.child)
  let fleet: PublisherFleet | undefined
  try {
    const mqttPort = secure === undefined ? edge.endpoints.mqttPort : edge.endpoints.mqttTlsPort
    if (mqttPort === null) throw new CloudosError('BENCH_ERR_SETUP', 'the edge runs with an external broker; the benchmark needs the embedded one (remove mqtt.brokerUrl from --edge-config)')
    fleet = await startFleet(scenario, mqttPort, context, secure?.connection)
    const edgeExited = () => (edge.child.exitCode !== null || edge.child.signalCode !== null ? 'the edge process exited during the run' : undefined)
    const stats = new EdgeStatsSource(edge.endpoints.httpUrl)
    try {
      const result = await measure(fleet, stats, context, edgeExited)
      result.peakRssBytes.edge = peakRssBytes(edge.pid)
      return result
    } finally {
      stats.close()
    }
  } finally {
    await fleet?.close()
    await stopChild(edge.child, 'SIGTERM', 15_000)
    rmSync(dataDir, { recursive: true, force: true })
    if (secure !== undefined) rmSync(`${dataDir}.json`, { force: true })
  }
}

function writeSecureConfig(file: string, userConfig: string | undefined, secure: SecureListener): string {
  const base = userConfig === undefined ? {} : (JSON.parse(readFileSync(userConfig, 'utf8')) as Record<string, unknown>)
  writeFileSync(file, JSON.stringify(secureEdgeConfig(base, secure)))
  return file
}

export async function runBaseline(scenario: IngestScenario, runIndex: number, context: RunContext): Promise<IngestRunResult> {
  const { reaper } = context
  const mosquittoPath = context.mosquittoPath
  if (mosquittoPath === undefined) throw new CloudosError('BENCH_ERR_SETUP', 'mosquitto is not available')
  const dir = join(context.workDir, `baseline-${scenario.id}-${runIndex}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  let broker: MosquittoBroker | undefined
  let subscriber: BaselineSubscriber | undefined
  let fleet: PublisherFleet | undefined
  try {
    broker = await setupStep('starting mosquitto', () => MosquittoBroker.start({ path: mosquittoPath, dir, reaper }))
    const progress = new ReportedCommitSource()
    const brokerUrl = broker.url
    subscriber = await setupStep('starting the baseline subscriber', () =>
      BaselineSubscriber.start({ brokerUrl, qos: scenario.qos, dbFile: join(dir, 'baseline.db'), reaper, progress }),
    )
    fleet = await startFleet(scenario, broker.port, context)
    const running = subscriber
    const result = await measure(fleet, progress, context, () => running.error)
    result.peakRssBytes.mosquitto = peakRssBytes(broker.pid)
    result.peakRssBytes.subscriber = peakRssBytes(subscriber.pid)
    if (broker.droppedMessages) result.notes.push('mosquitto logged that it dropped outgoing messages')
    return result
  } finally {
    await fleet?.close()
    await subscriber?.stop()
    await broker?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function startFleet(scenario: IngestScenario, port: number, context: RunContext, security?: PublisherSecurity): Promise<PublisherFleet> {
  const { settings } = context
  return setupStep('starting the publishers', () =>
    PublisherFleet.start({
      publishers: settings.publishers,
      host: '127.0.0.1',
      port,
      qos: scenario.qos,
      readings: scenario.size === 'single' ? settings.singleReadings : settings.batchedReadings,
      readingsPerMessage: scenario.readingsPerMessage,
      inflightWindow: settings.inflightWindow,
      reaper: context.reaper,
      ...(security === undefined ? {} : { security }),
    }),
  )
}

/** Starts the publishers and waits until their readings are committed (or the run cannot finish). */
async function measure(
  fleet: PublisherFleet,
  source: CommitProgressSource,
  context: RunContext,
  systemFailure: () => string | undefined,
): Promise<IngestRunResult> {
  const { settings } = context
  const goAt = benchNow()
  let publisherError: string | undefined
  let outcome: FleetOutcome | undefined
  const publishing = fleet.go(settings.runTimeoutMs).then(
    (o) => {
      outcome = o
    },
    (err: Error) => {
      publisherError = err.message
    },
  )
  const wait = await waitForCommitted(source, {
    expected: fleet.readings,
    deadline: goAt + settings.runTimeoutMs,
    pollIntervalMs: settings.pollIntervalMs,
    stallMs: settings.stallMs,
    publishingOver: () => fleet.finished,
    failure: () => publisherError ?? systemFailure(),
  })
  // QoS 1 publishers finish at their last PUBACK, just after the commit was observed.
  if (wait.end === 'complete') await Promise.race([publishing, sleep(5_000, { unref: true })])
  const startedAt = outcome?.startedAt ?? goAt
  const seconds = Math.max(wait.committedAt - startedAt, 0) / 1000
  const notes: string[] = []
  if (wait.end !== 'complete') {
    notes.push(`${fleet.readings - wait.committed} of ${fleet.readings} readings were not committed (run ended: ${wait.end})`)
  }
  return {
    end: wait.end,
    ...(wait.error === undefined ? {} : { error: wait.error }),
    expectedReadings: fleet.readings,
    committedReadings: wait.committed,
    seconds,
    readingsPerSecond: seconds > 0 ? wait.committed / seconds : 0,
    publishSeconds: outcome === undefined ? undefined : (outcome.finishedAt - outcome.startedAt) / 1000,
    peakRssBytes: {},
    notes,
  }
}

/** Runs a setup step; a failure becomes BENCH_ERR_SETUP naming the step. */
async function setupStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    if (err instanceof CloudosError) throw err
    throw new CloudosError('BENCH_ERR_SETUP', `${what} failed: ${(err as Error).message}`)
  }
}
