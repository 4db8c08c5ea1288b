import { randomBytes } from 'node:crypto'
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CloudosError } from '../../shared/errors.js'
import { buildBundle, generateReleaseKey, parseReleasePrivateKey } from '../../shared/ota/bundle.js'
import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'

export interface OtaVerifyBenchSettings {
  /** Payload sizes in bytes; the memory claim compares the smallest and the largest. */
  sizes: number[]
  runs: number
}

export const defaultOtaVerifySettings: OtaVerifyBenchSettings = { sizes: [16 * 1024 * 1024, 128 * 1024 * 1024], runs: 3 }
export const quickOtaVerifySettings: OtaVerifyBenchSettings = { sizes: [512 * 1024, 2 * 1024 * 1024], runs: 1 }

export type OtaVerifySystem = 'cloudos-stream' | 'node-in-memory' | 'zstd-tar-sha256sum'

export interface OtaVerifyResult {
  system: OtaVerifySystem
  payloadBytes: number
  bundleBytes: number
  medianMs: number
  megabytesPerSecond: number
  /** Peak resident memory of the verifying process; null for the shell pipeline (several processes). */
  peakRssBytes: number | null
}

export interface OtaVerifyBenchReport {
  benchmark: 'ota-verify'
  machine: MachineFacts
  settings: OtaVerifyBenchSettings
  results: OtaVerifyResult[]
  /** Peak RSS growth from the smallest to the largest bundle, per Node system. */
  rssGrowthBytes: Record<'cloudos-stream' | 'node-in-memory', number>
  /** At the largest size: in-memory peak RSS / streaming peak RSS, and shell time / streaming time. */
  ratios: { memoryInMemoryOverStream: number; timeShellOverStream: number }
}

const run = promisify(execFile)

async function measureNode(mode: 'stream' | 'in-memory', bundle: string, publicKey: string, extractTo: string): Promise<{ ms: number; maxRssBytes: number }> {
  const main = fileURLToPath(new URL('./ota-verify-main.js', import.meta.url))
  rmSync(extractTo, { recursive: true, force: true })
  mkdirSync(extractTo, { recursive: true })
  const { stdout } = await run(process.execPath, [main, mode, bundle, publicKey, extractTo], { maxBuffer: 1024 * 1024 })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as { ms: number; maxRssBytes: number }
}

/** The Unix tools a user would reach for: zstd | tar, then sha256sum -c (no signature check: that is extra work we do and they do not). */
async function measureShell(bundle: string, sums: string, extractTo: string): Promise<number> {
  rmSync(extractTo, { recursive: true, force: true })
  mkdirSync(extractTo, { recursive: true })
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `zstd -dc "${bundle}" | tar -x -C "${extractTo}" && cd "${extractTo}/payload" && sha256sum --quiet -c "${sums}"`], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.once('close', (code) => (code === 0 ? resolve() : reject(new CloudosError('BENCH_ERR_SETUP', `the zstd | tar | sha256sum pipeline failed: ${err.slice(0, 300)}`))))
  })
  return performance.now() - started
}

export async function runOtaVerifyBench(settings: OtaVerifyBenchSettings, onNotice: (m: string) => void = () => undefined): Promise<OtaVerifyBenchReport> {
  const machine = machineFacts()
  for (const tool of ['zstd', 'tar', 'sha256sum']) {
    await run('/bin/sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new CloudosError('BENCH_ERR_SETUP', `${tool} is not installed (needed for the baseline)`)
    })
  }
  const dir = mkdtempSync(join(tmpdir(), 'cloudos-bench-ota-'))
  try {
    const key = generateReleaseKey()
    const publicKey = join(dir, 'release.pub.pem')
    writeFileSync(publicKey, key.publicKeyPem)
    const results: OtaVerifyResult[] = []
    for (const size of settings.sizes) {
      // Incompressible payload (random bytes, as firmware images and models mostly are), in four files.
      const payload = join(dir, `payload-${size}`)
      mkdirSync(payload, { recursive: true })
      const sums: string[] = []
      for (let i = 0; i < 4; i++) {
        const bytes = randomBytes(Math.floor(size / 4))
        writeFileSync(join(payload, `part-${i}.bin`), bytes)
        sums.push(`${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}  part-${i}.bin`)
      }
      const sumsPath = join(dir, `sums-${size}.txt`)
      writeFileSync(sumsPath, `${sums.join('\n')}\n`)
      const bundle = join(dir, `bundle-${size}.cosb`)
      const built = await buildBundle({ sourceDir: payload, outputPath: bundle, name: 'bench', version: '1.0.0', kind: 'firmware', expiresAt: new Date(Date.now() + 86_400_000).toISOString(), privateKey: parseReleasePrivateKey(key.privateKeyPem), compressionLevel: 3 })
      const { statSync } = await import('node:fs')
      const bundleBytes = statSync(bundle).size
      const extractTo = join(dir, 'out')
      const samples: Record<OtaVerifySystem, { ms: number[]; rss: number[] }> = {
        'cloudos-stream': { ms: [], rss: [] },
        'node-in-memory': { ms: [], rss: [] },
        'zstd-tar-sha256sum': { ms: [], rss: [] },
      }
      for (let r = 0; r < settings.runs; r++) {
        // Interleaved, so drifting machine load hits every system alike.
        const stream = await measureNode('stream', bundle, publicKey, extractTo)
        samples['cloudos-stream'].ms.push(stream.ms)
        samples['cloudos-stream'].rss.push(stream.maxRssBytes)
        const memory = await measureNode('in-memory', bundle, publicKey, extractTo)
        samples['node-in-memory'].ms.push(memory.ms)
        samples['node-in-memory'].rss.push(memory.maxRssBytes)
        samples['zstd-tar-sha256sum'].ms.push(await measureShell(bundle, sumsPath, extractTo))
        onNotice(`${(size / 1048576).toFixed(1)} MiB run ${r + 1}/${settings.runs}: stream ${stream.ms.toFixed(0)} ms, in-memory ${memory.ms.toFixed(0)} ms`)
      }
      for (const system of Object.keys(samples) as OtaVerifySystem[]) {
        const ms = median(samples[system].ms)
        results.push({
          system,
          payloadBytes: built.manifest.payloadBytes,
          bundleBytes,
          medianMs: Math.round(ms),
          megabytesPerSecond: Math.round((built.manifest.payloadBytes / 1048576 / (ms / 1000)) * 10) / 10,
          peakRssBytes: samples[system].rss.length === 0 ? null : median(samples[system].rss),
        })
      }
      rmSync(payload, { recursive: true, force: true })
    }
    const at = (system: OtaVerifySystem, size: number) => results.find((r) => r.system === system && r.payloadBytes === Math.floor(size / 4) * 4) as OtaVerifyResult
    const small = Math.min(...settings.sizes)
    const large = Math.max(...settings.sizes)
    const growth = (system: 'cloudos-stream' | 'node-in-memory') => (at(system, large).peakRssBytes ?? 0) - (at(system, small).peakRssBytes ?? 0)
    return {
      benchmark: 'ota-verify',
      machine,
      settings,
      results,
      rssGrowthBytes: { 'cloudos-stream': growth('cloudos-stream'), 'node-in-memory': growth('node-in-memory') },
      ratios: {
        memoryInMemoryOverStream: Math.round(((at('node-in-memory', large).peakRssBytes ?? 0) / (at('cloudos-stream', large).peakRssBytes ?? 1)) * 100) / 100,
        timeShellOverStream: Math.round((at('zstd-tar-sha256sum', large).medianMs / Math.max(1, at('cloudos-stream', large).medianMs)) * 100) / 100,
      },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function formatOtaVerifyReport(report: OtaVerifyBenchReport): string {
  const mib = (b: number | null) => (b === null ? '-' : `${(b / 1048576).toFixed(1)} MiB`)
  const lines = [
    `cloudos bench ota-verify: verify + extract a signed bundle (load average at start ${report.machine.loadAverage.join(' ')}, ${report.machine.cpus} CPUs, median of ${report.settings.runs})`,
    '',
    '| payload | system | median ms | MB/s | peak RSS |',
    '|---|---|---|---|---|',
    ...report.results.map((r) => `| ${mib(r.payloadBytes)} | ${r.system} | ${r.medianMs} | ${r.megabytesPerSecond} | ${mib(r.peakRssBytes)} |`),
    '',
    `peak RSS growth from the smallest to the largest bundle: cloudos-stream ${mib(report.rssGrowthBytes['cloudos-stream'])}, node-in-memory ${mib(report.rssGrowthBytes['node-in-memory'])}`,
    `largest bundle: in-memory needs ${report.ratios.memoryInMemoryOverStream}x the memory of the streaming verifier; zstd|tar|sha256sum takes ${report.ratios.timeShellOverStream}x its time (without any signature check)`,
  ]
  return `${lines.join('\n')}\n`
}
