import type { Command } from 'commander'
import { integerFlag } from '../flags.js'

/** `cloudos bench ota-verify`: the edge's streaming bundle verifier against reading it all into memory and against zstd | tar | sha256sum. */
export function registerBenchOtaVerify(bench: Command): void {
  bench
    .command('ota-verify')
    .description('OTA bundle verification on the edge: time and peak memory of the streaming verifier (signature, hashes, extraction) against an in-memory Node verifier and zstd | tar | sha256sum')
    .option('--json', 'print one JSON object instead of the table')
    .option('--quick', 'small bundles and one run, to check the machinery')
    .option('--runs <n>', 'runs per system and size; medians are reported (default 3)', integerFlag('--runs', 1, 50))
    .option('--size-mb <n>', 'largest payload in MiB (default 128)', integerFlag('--size-mb', 1, 4096))
    .action(async (flags: { json?: boolean; quick?: boolean; runs?: number; sizeMb?: number }) => {
      const { runOtaVerifyBench, formatOtaVerifyReport, defaultOtaVerifySettings, quickOtaVerifySettings } = await import('../../bench/ota-verify/ota-verify-bench.js')
      const base = flags.quick === true ? quickOtaVerifySettings : defaultOtaVerifySettings
      const largest = flags.sizeMb === undefined ? Math.max(...base.sizes) : flags.sizeMb * 1024 * 1024
      const settings = { sizes: [Math.max(64 * 1024, Math.floor(largest / 8)), largest], runs: flags.runs ?? base.runs }
      const report = await runOtaVerifyBench(settings, (m) => process.stderr.write(`[bench] ${m}\n`))
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatOtaVerifyReport(report))
    })
}
