/**
 * Entry point of the background-load process (forked by `BackgroundLoad`):
 * connects with mqtt.js, and on 'go' publishes `readingsPerSecond` single
 * readings per second (QoS 0) round robin over `sensors` series, paced every
 * few milliseconds against the clock so the rate holds even when a tick is late.
 */
import type { MqttClient } from 'mqtt'
import type { BackgroundLoadJob, FromBackgroundLoad, ToBackgroundLoad } from './background-load.js'

const TICK_MS = 5

let client: MqttClient | undefined
let job: BackgroundLoadJob | undefined
let timer: NodeJS.Timeout | undefined
let sent = 0
/** Readings due so far by the clock (sent or skipped after a stall). */
let due = 0
let startedAt = 0

const send = (message: FromBackgroundLoad) => {
  if (process.connected) process.send?.(message)
}

process.on('message', (message: ToBackgroundLoad) => {
  switch (message.type) {
    case 'job':
      job = message.job
      connect(message.job).then(() => send({ type: 'ready' }), fail)
      break
    case 'go':
      start()
      break
    case 'stop':
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      send({ type: 'stopped', sent, seconds: (performance.now() - startedAt) / 1000 })
      break
    case 'exit':
      void client?.endAsync(true).finally(() => process.exit(0))
      if (client === undefined) process.exit(0)
      break
  }
})
process.on('disconnect', () => process.exit(0))

async function connect(j: BackgroundLoadJob): Promise<void> {
  const mqtt = (await import('mqtt')).default
  client = await mqtt.connectAsync(`mqtt://${j.host}:${j.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: `bench-load-${process.pid}` })
}

function start(): void {
  const j = job as BackgroundLoadJob
  const c = client as MqttClient
  const topics = Array.from({ length: j.sensors }, (_, i) => `sensors/load-${String(i).padStart(4, '0')}/value`)
  startedAt = performance.now()
  const baseTs = Date.now()
  timer = setInterval(() => {
    const target = Math.floor(((performance.now() - startedAt) / 1000) * j.readingsPerSecond)
    // Never more than a tenth of a second's worth at once: after a stall, skip rather than burst.
    const burst = Math.min(target - due, Math.ceil(j.readingsPerSecond / 10))
    due = target
    for (let i = 0; i < burst; i++) {
      const n = sent++
      const series = n % j.sensors
      const step = Math.floor(n / j.sensors)
      const value = 50 + 10 * Math.sin(step / 20 + series) + ((n * 7919) % 101) / 50
      c.publish(topics[series] as string, `{"ts":${baseTs + step * 10},"value":${value.toFixed(3)}}`, { qos: 0 })
    }
  }, TICK_MS)
}

function fail(err: unknown): void {
  send({ type: 'error', message: (err as Error).message ?? String(err) })
}
