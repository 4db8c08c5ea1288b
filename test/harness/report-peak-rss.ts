import { writeSync } from 'node:fs'

/**
 * Preloaded into a child (`node --import .../report-peak-rss.js ...`): when
 * the process exits, for any reason, it writes its peak resident set size
 * (getrusage ru_maxrss, the kernel's high-water mark) as the last line of
 * stderr, so a test can bound the memory a whole command took.
 */
export const PEAK_RSS_MARKER = 'cloudos-peak-rss-bytes'

process.on('exit', () => {
  writeSync(2, `\n${PEAK_RSS_MARKER} ${process.resourceUsage().maxRSS * 1024}\n`)
})
