import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import type { EdgeEndpoints, EdgeRuntime } from '../../edge/runtime.js'
import type { SimulatorHandle } from '../../shared/simulator/index.js'
import type { Logger } from '../../shared/log/logger.js'
import type { DemoHubCredentials } from './demo-hub.js'
import { integerFlag, numberFlag, portFlag } from '../flags.js'
import { runUntilSignal } from '../run-until-signal.js'

interface DemoFlags {
  dataDir: string
  mqttPort: number
  httpPort: number
  hubPort: number
  sensors: number
  rate: number
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the whole system on one machine: a hub, an edge runtime enrolled with it (embedded broker) and a sensor simulator')
    .option('--data-dir <dir>', 'where the demo keeps its data', '.cloudos/demo')
    .option('--mqtt-port <port>', 'embedded broker port (a free port is used if it is taken)', portFlag('--mqtt-port'), 1883)
    .option('--http-port <port>', 'local HTTP API port (a free port is used if it is taken)', portFlag('--http-port'), 8081)
    .option('--hub-port <port>', 'hub API port (a free port is used if it is taken)', portFlag('--hub-port'), 8080)
    .option('--sensors <n>', 'simulated sensors', integerFlag('--sensors', 1, 1000), 5)
    .option('--rate <r>', 'readings per second per simulated sensor', numberFlag('--rate', 0.01, 1000), 2)
    .action(async (flags: DemoFlags) => {
      // Loaded when the command runs (see cli/commands/edge.ts).
      const { startSimulator } = await import('../../shared/simulator/index.js')
      const { consoleLogger } = await import('../../shared/log/logger.js')
      const { prepareDemoHub, demoEnrolmentToken, startDemoHub } = await import('./demo-hub.js')
      const logger = consoleLogger('demo')
      const dataDir = resolve(flags.dataDir, 'edge')
      const hubDir = resolve(flags.dataDir, 'hub')
      const credentials = await prepareDemoHub(hubDir)
      const enrolmentToken = await demoEnrolmentToken(hubDir, dataDir, logger)
      const hub = await startDemoHub(hubDir, flags.hubPort, logger)
      let runtime: EdgeRuntime | undefined
      let simulator: SimulatorHandle | undefined
      let endpoints: EdgeEndpoints
      try {
        ;({ runtime, endpoints } = await startEdgeOnFreePorts(dataDir, flags.mqttPort, flags.httpPort, hub.url, enrolmentToken, logger))
        simulator = await startSimulator({ mqttUrl: endpoints.mqttUrl, sensorCount: flags.sensors, readingsPerSecond: flags.rate, seed: 42 })
      } catch (err) {
        await runtime?.stop()
        await hub.stop()
        throw err
      }
      process.stdout.write(banner(endpoints, flags, hub.url, credentials))
      runUntilSignal(async () => {
        const stats = await simulator?.stop()
        await runtime?.stop()
        await hub.stop()
        process.stdout.write(`\ndemo stopped: ${stats?.readingsAcked ?? 0} readings published and acknowledged; data kept in ${resolve(flags.dataDir)}\n`)
      })
    })
}

/** Starts the edge on the requested ports, or on free ones when those are taken. */
async function startEdgeOnFreePorts(
  dataDir: string,
  mqttPort: number,
  httpPort: number,
  hubUrl: string,
  enrolmentToken: string | undefined,
  logger: Logger,
): Promise<{ runtime: EdgeRuntime; endpoints: EdgeEndpoints }> {
  const { loadEdgeConfig } = await import('../../edge/config/load.js')
  const { EdgeRuntime } = await import('../../edge/runtime.js')
  for (const [mqtt, http] of [
    [mqttPort, httpPort],
    [0, 0],
  ] as const) {
    const config = loadEdgeConfig(undefined, { mqtt: { port: mqtt, host: '127.0.0.1' }, http: { port: http }, hub: { url: hubUrl, deviceName: 'demo-edge' } })
    const runtime = new EdgeRuntime({ dataDir, config, logger, enrolmentToken })
    try {
      return { runtime, endpoints: await runtime.start() }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || mqtt === 0) throw err
      logger.warn(`port ${mqttPort} or ${httpPort} is taken; using free ports instead`)
    }
  }
  throw new Error('unreachable')
}

function banner(endpoints: EdgeEndpoints, flags: DemoFlags, hubUrl: string, credentials: DemoHubCredentials): string {
  const http = endpoints.httpUrl
  const login = credentials.otpauthUri === undefined
    ? `  Hub admin     ${credentials.username} / password in ${credentials.file} (mode 0600);
                TOTP: the otpauth URI printed when this demo hub was created (delete ${dirname(credentials.file)} to start over)`
    : `  Hub admin     ${credentials.username} / ${credentials.password}   (also kept in ${credentials.file}, mode 0600)
  Hub TOTP      ${credentials.otpauthUri}
                (add it to an authenticator app now: it is shown only this once)`
  return `
CloudOS Lite demo is running (Ctrl-C to stop)

  MQTT broker   ${endpoints.mqttUrl}   (${flags.sensors} simulated sensors, ${flags.rate} readings/s each)
  HTTP API      ${http}
  Data dir      ${endpoints.dataDir}
  Hub           ${hubUrl}   (API reference: ${hubUrl}/docs)
                HTTPS end to end: the edge enrolled with a token carrying the hub CA pin and checks every
                connection against that CA (curl --cacert ${credentials.caFile} ${hubUrl}/healthz)
${login}

Try:
  curl ${http}/v1/sensors
  curl '${http}/v1/readings?sensor=sim-01&metric=temperature&order=desc&limit=5'
  curl ${http}/v1/stats
  curl ${http}/metrics
  curl ${http}/healthz          (the "hub" field: link state, device id)
  curl ${http}/v1/alerts
  mosquitto_pub -p ${endpoints.mqttPort ?? 1883} -t sensors/my-sensor/temperature -m '{"value": 21.5}'
  mosquitto_sub -p ${endpoints.mqttPort ?? 1883} -t 'sensors/#' -v

`
}
