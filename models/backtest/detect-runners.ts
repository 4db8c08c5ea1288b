import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { AnomalyDetector } from '../../shared/anomaly/detector.js'
import { CloudosError, errorCatalogue, type ErrorCode } from '../../shared/errors.js'
import { packageRoot } from '../../shared/package-root.js'
import { NabError } from '../nab/nab-error.js'
import { detectCsv, type DetectCsvSummary } from './detect-csv.js'
import type { DetectRunner, DetectTask, FromDetectWorker, ToDetectWorker } from './detect-task.js'

/** Runs tasks on a detector in this process: one detector, one series key per file, state dropped after each. */
export class InProcessDetectRunner implements DetectRunner {
  readonly #detector: AnomalyDetector
  readonly #chunkSize: number

  constructor(detector: AnomalyDetector, chunkSize: number) {
    this.#detector = detector
    this.#chunkSize = chunkSize
  }

  async run(task: DetectTask): Promise<DetectCsvSummary> {
    try {
      return await detectCsv({ input: task.input, output: task.output, detector: this.#detector, seriesKey: task.seriesKey, chunkSize: this.#chunkSize })
    } catch (err) {
      throw detectFailed(task, (err as Error).message, (err as { code?: string }).code)
    } finally {
      this.#detector.forget(task.seriesKey)
    }
  }

  async close(): Promise<void> {
    await this.#detector.close()
  }
}

/** The compiled worker entry; forked from dist/ whether the caller runs compiled or from source. */
function workerModulePath(): string {
  return join(packageRoot(), 'dist', 'models', 'backtest', 'detect-worker-main.js')
}

/**
 * Runs tasks in a forked worker process that loads the model once. Several
 * of these run files in parallel on a multi-core machine (onnxruntime is
 * given one thread per process by the detector, so processes, not threads,
 * use the cores).
 */
export class DetectWorkerRunner implements DetectRunner {
  readonly #child: ChildProcess
  #pending: { resolve: (summary: DetectCsvSummary) => void; reject: (err: Error) => void; task: DetectTask } | undefined
  #exited = false

  private constructor(child: ChildProcess) {
    this.#child = child
    child.on('message', (message: FromDetectWorker) => this.#onMessage(message))
    child.once('exit', (code, signal) => {
      this.#exited = true
      const pending = this.#pending
      this.#pending = undefined
      pending?.reject(detectFailed(pending.task, `the detect worker exited (${signal ?? `code ${String(code)}`})`))
    })
  }

  static async start(modelPath: string | undefined, chunkSize: number): Promise<DetectWorkerRunner> {
    const path = workerModulePath()
    if (!existsSync(path)) {
      throw new NabError('NAB_ERR_DETECT_FAILED', `the detect worker ${path} is missing: build first (npm run build), or use --jobs 1`, { path })
    }
    const child = fork(path, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' })
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromDetectWorker) => {
        child.off('exit', onExit)
        child.off('message', onMessage)
        if (message.type === 'ready') resolve()
        else reject(workerError(message.type === 'failed' ? message : { code: undefined, message: 'unexpected first message' }))
      }
      const onExit = (code: number | null) => {
        child.off('message', onMessage)
        reject(new NabError('NAB_ERR_DETECT_FAILED', `the detect worker exited while loading the model (code ${String(code)})`))
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
    child.send({ type: 'start', modelPath, chunkSize } satisfies ToDetectWorker)
    try {
      await ready
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    return new DetectWorkerRunner(child)
  }

  run(task: DetectTask): Promise<DetectCsvSummary> {
    if (this.#exited) return Promise.reject(detectFailed(task, 'the detect worker has exited'))
    if (this.#pending !== undefined) return Promise.reject(new Error('DetectWorkerRunner runs one task at a time'))
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject, task }
      this.#child.send({ type: 'task', task } satisfies ToDetectWorker)
    })
  }

  async close(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    if (this.#child.connected) this.#child.send({ type: 'exit' } satisfies ToDetectWorker)
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  #onMessage(message: FromDetectWorker): void {
    const pending = this.#pending
    if (pending === undefined) return
    if (message.type === 'done') {
      this.#pending = undefined
      pending.resolve(message.summary)
    } else if (message.type === 'failed') {
      this.#pending = undefined
      pending.reject(detectFailed(pending.task, message.message, message.code))
    }
  }
}

/**
 * Runs every task on a pool of runners, each taking the next task as soon as
 * it is free. The first failure stops handing out tasks and is thrown once
 * the runners in flight are done.
 */
export async function runDetectTasks(
  tasks: readonly DetectTask[],
  runners: readonly DetectRunner[],
  onDone?: (task: DetectTask, summary: DetectCsvSummary, completed: number) => void,
): Promise<Map<string, DetectCsvSummary>> {
  const summaries = new Map<string, DetectCsvSummary>()
  let next = 0
  let failure: Error | undefined
  await Promise.all(
    runners.map(async (runner) => {
      while (failure === undefined && next < tasks.length) {
        const task = tasks[next++] as DetectTask
        try {
          const summary = await runner.run(task)
          summaries.set(task.file, summary)
          onDone?.(task, summary, summaries.size)
        } catch (err) {
          failure ??= err as Error
        }
      }
    }),
  )
  if (failure !== undefined) throw failure
  return summaries
}

function detectFailed(task: DetectTask, message: string, code?: string): NabError {
  const cause = code !== undefined && code in errorCatalogue ? `${code as ErrorCode}: ` : ''
  return new NabError('NAB_ERR_DETECT_FAILED', `${task.file}: ${cause}${message}`, { file: task.file, ...(code === undefined ? {} : { cause: code }) })
}

/** A model that cannot be loaded is reported with the model's own error code (MODEL_ERR_*), as `cloudos detect` would. */
function workerError(message: { code: string | undefined; message: string }): CloudosError {
  if (message.code !== undefined && message.code in errorCatalogue) return new CloudosError(message.code as ErrorCode, message.message)
  return new NabError('NAB_ERR_DETECT_FAILED', `the detect worker could not load the model: ${message.message}`)
}
