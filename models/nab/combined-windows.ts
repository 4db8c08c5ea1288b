import { parseCsvTimestamp } from '../../shared/simulator/replay-csv.js'
import type { NabWindow } from './anomaly-windows.js'
import { NabError } from './nab-error.js'

/**
 * Parses NAB's labels/combined_windows.json:
 * `{"<category>/<file>.csv": [["2014-04-10 07:15:00.000000", "2014-04-11 16:45:00.000000"], ...]}`
 * (UTC timestamps; an empty list means the file has no anomaly).
 */
export function parseCombinedWindows(text: string, source: string): Map<string, NabWindow[]> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new NabError('NAB_ERR_LABELS', `${source}: not valid JSON (${(err as Error).message})`, { file: source })
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new NabError('NAB_ERR_LABELS', `${source}: expected an object {"<category>/<file>.csv": [[start, end], ...]}`, { file: source })
  }
  const labels = new Map<string, NabWindow[]>()
  for (const [file, entry] of Object.entries(json)) {
    if (!Array.isArray(entry)) {
      throw new NabError('NAB_ERR_LABELS', `${source}: "${file}" must be a list of [start, end] windows`, { file: source, entry: file })
    }
    labels.set(
      file,
      entry.map((window, index) => {
        const ends = Array.isArray(window) && window.length === 2 ? window.map((t) => (typeof t === 'string' ? parseCsvTimestamp(t) : undefined)) : []
        const [startMs, endMs] = ends
        if (startMs === undefined || endMs === undefined) {
          throw new NabError('NAB_ERR_LABELS', `${source}: "${file}" window ${index} must be ["YYYY-MM-DD HH:MM:SS[.ffffff]", "..."], got ${JSON.stringify(window)}`, {
            file: source,
            entry: file,
          })
        }
        return { startMs, endMs }
      }),
    )
  }
  return labels
}
