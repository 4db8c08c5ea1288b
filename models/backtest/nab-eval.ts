import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { AnomalyDetector } from '../../shared/anomaly/detector.js'
import { NabError } from '../nab/nab-error.js'
import { openNabCorpus, type NabCorpusEntry } from '../nab/nab-corpus.js'
import { scoreNabCorpus, type NabCorpusFile, type ProfileResult } from '../nab/score-corpus.js'
import { DEFAULT_DETECT_CHUNK, type DetectCsvSummary } from './detect-csv.js'
import { DetectWorkerRunner, InProcessDetectRunner, runDetectTasks } from './detect-runners.js'
import type { DetectRunner, DetectTask } from './detect-task.js'
import { readDetectionResults } from './detection-results.js'
import { readSeriesCsv } from './series-csv-rows.js'

export interface NabEvalOptions {
  /** The NAB-layout folder. */
  dir: string
  /** The model to evaluate (an .onnx with its card beside it); default the shipped model. */
  modelPath?: string
  /** Score the detection CSVs already in this folder (`<category>/<file>.csv`) instead of running a model. */
  resultsDir?: string
  /** Keep the detection CSVs here, in NAB's results layout; by default they go to a temporary folder that is removed. */
  outputDir?: string
  /** Files run in parallel, each in a worker process; 1 runs them in this process. */
  jobs?: number
  chunkSize?: number
  /** Score at this threshold instead of optimising it per profile. */
  threshold?: number
  /**
   * Makes the detector to evaluate, in this process (jobs is then ignored):
   * lets model work evaluate a candidate AnomalyDetector (other pipeline
   * settings, a model not yet exported) exactly as a shipped one.
   */
  createDetector?: () => Promise<AnomalyDetector>
  onFileDone?: (file: string, summary: DetectCsvSummary, completed: number, total: number) => void
}

export interface NabEvalReport {
  dir: string
  profilesFrom: string
  /** The model evaluated; absent when existing results were scored. */
  model?: { name: string; version: string; sha256: string }
  resultsDir?: string
  files: number
  rows: number
  windows: number
  /** Seconds spent running the detector (wall clock, all files). */
  detectSeconds: number
  profiles: Record<string, ProfileResult>
}

/**
 * `cloudos model eval --nab DIR`: runs the detector over every file of a
 * NAB corpus exactly as `cloudos detect` does (stream order, one series per
 * file, fresh state per file), then scores the output with NAB's rules, the
 * threshold optimised per profile over the corpus.
 */
export async function evaluateNab(options: NabEvalOptions): Promise<NabEvalReport> {
  const corpus = await openNabCorpus(options.dir)
  let resultsDir: string
  let temporary: string | undefined
  let model: NabEvalReport['model']
  let detectSeconds = 0
  if (options.resultsDir !== undefined) {
    resultsDir = resolve(options.resultsDir)
  } else {
    resultsDir = options.outputDir !== undefined ? resolve(options.outputDir) : (temporary = await mkdtemp(join(tmpdir(), 'cloudos-nab-eval-')))
    const started = performance.now()
    const summaries = await runDetector(corpus.entries, resultsDir, options)
    detectSeconds = (performance.now() - started) / 1000
    const first = summaries.values().next().value
    if (first !== undefined) model = first.model
  }
  try {
    const files: NabCorpusFile[] = []
    for (const entry of corpus.entries) {
      const path = options.resultsDir !== undefined ? await findResultsFile(resultsDir, entry) : join(resultsDir, entry.file)
      const results = await readDetectionResults(path)
      if (options.resultsDir !== undefined) await checkResultsMatchData(entry, path, results.timestamps)
      files.push({ file: entry.file, timestamps: results.timestamps, windows: entry.windows, scores: results.scores })
    }
    const score = scoreNabCorpus(files, corpus.profiles, options.threshold === undefined ? {} : { threshold: options.threshold })
    return {
      dir: corpus.dir,
      profilesFrom: corpus.profilesFrom,
      ...(model === undefined ? {} : { model }),
      ...(options.resultsDir === undefined ? {} : { resultsDir }),
      files: score.files,
      rows: score.rows,
      windows: score.windows,
      detectSeconds,
      profiles: score.profiles,
    }
  } finally {
    if (temporary !== undefined) await rm(temporary, { recursive: true, force: true })
  }
}

async function runDetector(entries: readonly NabCorpusEntry[], outDir: string, options: NabEvalOptions): Promise<Map<string, DetectCsvSummary>> {
  const chunkSize = options.chunkSize ?? DEFAULT_DETECT_CHUNK
  const jobs = Math.max(1, Math.min(options.jobs ?? 1, entries.length))
  const tasks: DetectTask[] = entries.map((entry) => ({
    file: entry.file,
    input: entry.path,
    output: join(outDir, entry.file),
    // One series per file, named like the edge names a replayed file: <category>_<file>/value.
    seriesKey: `${entry.file.replace(/\.csv$/, '').replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 64)}/value`,
  }))
  for (const dir of new Set(tasks.map((t) => dirname(t.output)))) await mkdir(dir, { recursive: true })
  const runners: DetectRunner[] = []
  try {
    if (options.createDetector !== undefined) {
      runners.push(new InProcessDetectRunner(await options.createDetector(), chunkSize))
    } else if (jobs === 1) {
      const { createDetector, defaultModelPath } = await import('../../shared/anomaly/index.js')
      runners.push(new InProcessDetectRunner(await createDetector(options.modelPath ?? defaultModelPath()), chunkSize))
    } else {
      const started = await Promise.allSettled(Array.from({ length: jobs }, () => DetectWorkerRunner.start(options.modelPath, chunkSize)))
      for (const s of started) if (s.status === 'fulfilled') runners.push(s.value)
      const failed = started.find((s) => s.status === 'rejected')
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    }
    return await runDetectTasks(tasks, runners, (task, summary, completed) => options.onFileDone?.(task.file, summary, completed, tasks.length))
  } finally {
    await Promise.all(runners.map((r) => r.close()))
  }
}

/** `<category>/<file>.csv`, or NAB's `<category>/<detector>_<file>.csv` when that is the only match. */
async function findResultsFile(resultsDir: string, entry: NabCorpusEntry): Promise<string> {
  const exact = join(resultsDir, entry.file)
  if (existsSync(exact)) return exact
  const [category, name] = entry.file.split('/') as [string, string]
  let candidates: string[] = []
  try {
    candidates = (await readdir(join(resultsDir, category))).filter((f) => f.endsWith(`_${name}`))
  } catch {
    // No such category folder: reported below.
  }
  if (candidates.length === 1) return join(resultsDir, category, candidates[0] as string)
  throw new NabError('NAB_ERR_RESULTS', `no results for ${entry.file} in ${resultsDir} (expected ${exact}${candidates.length > 1 ? `; several *_${name} match` : ''})`, {
    file: entry.file,
  })
}

/** Existing results must have the data file's rows: same count, same first and last timestamp. */
async function checkResultsMatchData(entry: NabCorpusEntry, resultsPath: string, timestamps: Float64Array): Promise<void> {
  let rows = 0
  let first: number | undefined
  let last: number | undefined
  for await (const row of readSeriesCsv(entry.path)) {
    if (Number.isNaN(row.value)) continue
    rows++
    first ??= row.ts
    last = row.ts
  }
  if (rows !== timestamps.length || first !== timestamps[0] || last !== timestamps[timestamps.length - 1]) {
    throw new NabError('NAB_ERR_RESULTS', `${resultsPath} has ${timestamps.length} rows, but data/${entry.file} has ${rows} (or they start or end at other timestamps)`, {
      file: entry.file,
    })
  }
}
