/**
 * Entry point of one detect worker process (forked by DetectWorkerRunner for
 * `cloudos model eval --nab`): loads the model once, then runs the files it
 * is sent through the same detectCsv as `cloudos detect`, one at a time.
 */
import type { AnomalyDetector } from '../../shared/anomaly/detector.js'
import { createDetector, defaultModelPath } from '../../shared/anomaly/index.js'
import { isCloudosError } from '../../shared/errors.js'
import { detectCsv } from './detect-csv.js'
import type { FromDetectWorker, ToDetectWorker } from './detect-task.js'

let detector: AnomalyDetector | undefined
let chunkSize = 16

function send(message: FromDetectWorker): void {
  if (process.connected) process.send?.(message)
}

function failed(err: unknown): void {
  send({ type: 'failed', code: isCloudosError(err) ? err.code : undefined, message: (err as Error).message ?? String(err) })
}

process.on('message', (message: ToDetectWorker) => {
  switch (message.type) {
    case 'start':
      chunkSize = message.chunkSize
      createDetector(message.modelPath ?? defaultModelPath()).then((created) => {
        detector = created
        send({ type: 'ready' })
      }, failed)
      break
    case 'task': {
      const { task } = message
      if (detector === undefined) {
        failed(new Error('the worker has no model loaded'))
        break
      }
      const current = detector
      detectCsv({ input: task.input, output: task.output, detector: current, seriesKey: task.seriesKey, chunkSize })
        .then((summary) => {
          current.forget(task.seriesKey)
          send({ type: 'done', summary })
        }, failed)
      break
    }
    case 'exit':
      void (detector?.close() ?? Promise.resolve()).finally(() => process.exit(0))
      break
  }
})
// The orchestrator died or closed the channel: never linger.
process.on('disconnect', () => process.exit(0))
