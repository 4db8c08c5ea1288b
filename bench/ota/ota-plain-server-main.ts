/**
 * The baseline of `cloudos bench ota`: what a naive implementation would
 * write, a plain fastify route that reads the bundle file into memory
 * (fs.readFile) and sends the buffer, with no authentication, no Range and
 * no rollout logic at all.
 */
import { readFile } from 'node:fs/promises'
import Fastify from 'fastify'
import type { PlainBundleServerJob, FromPlainBundleServer } from './ota-bench-ipc.js'
import { sendToParent } from '../processes/child-ipc.js'

process.on('disconnect', () => process.exit(0))
process.on('message', (message: { type: 'job'; job: PlainBundleServerJob } | { type: 'exit' }) => {
  if (message.type === 'exit') process.exit(0)
  else start(message.job).catch((err: unknown) => sendToParent<FromPlainBundleServer>({ type: 'error', message: (err as Error).message }))
})

async function start(job: PlainBundleServerJob): Promise<void> {
  const app = Fastify({ logger: false })
  app.get<{ Params: { name: string } }>('/bundles/:name', async (request, reply) => {
    const path = job.bundles[request.params.name]
    if (path === undefined) return reply.status(404).send({ error: 'no such bundle' })
    return reply.type('application/octet-stream').send(await readFile(path))
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  sendToParent<FromPlainBundleServer>({ type: 'ready', url })
}
