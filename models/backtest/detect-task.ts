import type { DetectCsvSummary } from './detect-csv.js'

/** One file to run through the detector. */
export interface DetectTask {
  /** `<category>/<file>.csv`, for progress and errors. */
  file: string
  input: string
  output: string
  seriesKey: string
}

/** Something that runs detect tasks one at a time: the detector in this process, or a worker process. */
export interface DetectRunner {
  run(task: DetectTask): Promise<DetectCsvSummary>
  close(): Promise<void>
}

/** Messages from the orchestrator to a detect worker process. */
export type ToDetectWorker =
  | { type: 'start'; modelPath: string | undefined; chunkSize: number }
  | { type: 'task'; task: DetectTask }
  | { type: 'exit' }

/** Messages from a detect worker process. */
export type FromDetectWorker =
  | { type: 'ready' }
  | { type: 'done'; summary: DetectCsvSummary }
  | { type: 'failed'; code: string | undefined; message: string }
