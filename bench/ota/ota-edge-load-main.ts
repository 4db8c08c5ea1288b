/**
 * One load-generator process of `cloudos bench ota`: a share of the simulated
 * edges. hub mode: each edge polls its signed target every `pollMs` and, when
 * offered the rollout's release, downloads it with Range, checks the sha256
 * and reports committed (ota-simulated-edge.ts); the process
 * reports when all its edges committed. plain mode (the baseline): each edge
 * downloads the file from the plain server once and checks it. Downloads are
 * limited to `downloadConcurrency` at a time in both modes.
 */
import { createPrivateKey } from 'node:crypto'
import { Agent } from 'node:http'
import { downloadWithRanges, SimulatedEdge } from './ota-simulated-edge.js'
import type { EdgeLoadJob, EdgeLoadOutcome, PlainDownload, ToEdgeLoad, FromEdgeLoad } from './ota-bench-ipc.js'
import { sendToParent } from '../processes/child-ipc.js'

let job: EdgeLoadJob | undefined
let edges: SimulatedEdge[] = []
let agent: Agent | undefined

process.on('disconnect', () => process.exit(0))
process.on('message', (message: ToEdgeLoad) => {
  const run = async () => {
    switch (message.type) {
      case 'job':
        job = message.job
        // One socket per download slot plus one for polls and reports.
        agent = new Agent({ keepAlive: true, maxSockets: job.downloadConcurrency + 1 })
        edges = job.devices.map((d) => new SimulatedEdge({ baseUrl: message.job.baseUrl, deviceId: d.deviceId, privateKey: createPrivateKey(d.privateKeyPem as string), agent: agent as Agent, rangeBytes: message.job.rangeBytes }))
        sendToParent<FromEdgeLoad>({ type: 'ready' })
        return
      case 'rollout':
        sendToParent<FromEdgeLoad>({ type: 'done', outcome: await followRollout() })
        return
      case 'plain':
        sendToParent<FromEdgeLoad>({ type: 'done', outcome: await plainDownloads(message.download) })
        return
      case 'exit':
        process.exit(0)
    }
  }
  run().catch((err: unknown) => sendToParent<FromEdgeLoad>({ type: 'error', message: (err as Error).message }))
})

/** At most `limit` of `tasks` run at once. */
async function limited(limit: number, tasks: (() => Promise<void>)[]): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) await (tasks[next++] as () => Promise<void>)()
    }),
  )
}

async function followRollout(): Promise<EdgeLoadOutcome> {
  const { pollMs, downloadConcurrency } = job as EdgeLoadJob
  const started = performance.now()
  const bytesBefore = edges.reduce((n, e) => n + e.bytesReceived, 0)
  let failed = 0
  let firstError: string | null = null
  let slots = downloadConcurrency
  const waiting: (() => void)[] = []
  const acquire = () => (slots > 0 ? (slots--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve)))
  const release = () => {
    const next = waiting.shift()
    if (next === undefined) slots++
    else next()
  }
  await Promise.all(
    edges.map(async (edge) => {
      // Polls are spread over the interval, as a fleet's would be.
      await new Promise((r) => setTimeout(r, Math.random() * pollMs))
      for (;;) {
        await acquire()
        let outcome: 'idle' | 'updated' | 'failed'
        try {
          outcome = await edge.pollOnce()
        } catch (err) {
          failed++
          firstError ??= (err as Error).message
          outcome = 'idle'
        } finally {
          release()
        }
        if (outcome !== 'idle') {
          if (outcome === 'failed') failed++
          return
        }
        await new Promise((r) => setTimeout(r, pollMs))
      }
    }),
  )
  return { devices: edges.length, bytes: edges.reduce((n, e) => n + e.bytesReceived, 0) - bytesBefore, requests: 0, failed, firstError, seconds: (performance.now() - started) / 1000 }
}

async function plainDownloads(download: PlainDownload): Promise<EdgeLoadOutcome> {
  const { rangeBytes, downloadConcurrency } = job as EdgeLoadJob
  const started = performance.now()
  let bytes = 0
  let requests = 0
  let failed = 0
  let firstError: string | null = null
  await limited(
    downloadConcurrency,
    edges.map(() => async () => {
      try {
        // The naive server has no Range support: one GET per device.
        const result = await downloadWithRanges(download.baseUrl, download.path, download.bytes, Math.max(rangeBytes, download.bytes), agent as Agent, () => ({}))
        bytes += result.bytes
        requests += result.requests
        if (result.sha256 !== download.sha256) throw new Error(`sha256 ${result.sha256} differs from ${download.sha256}`)
      } catch (err) {
        failed++
        firstError ??= (err as Error).message
      }
    }),
  )
  return { devices: edges.length, bytes, requests, failed, firstError, seconds: (performance.now() - started) / 1000 }
}
