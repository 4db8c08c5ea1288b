import { NabError } from './nab-error.js'

/** A labelled anomaly window in time, both ends inclusive, epoch ms. */
export interface NabWindow {
  startMs: number
  endMs: number
}

/** A window as row indices of one file, both ends inclusive. */
export interface WindowSpan {
  first: number
  last: number
}

/**
 * Maps labelled windows to the rows of a file: a window holds every row whose
 * timestamp lies within [start, end]. NAB's labels start and end on data
 * timestamps; a window that holds no row, or windows that overlap, mean the
 * labels do not belong to this file.
 */
export function windowSpans(file: string, timestamps: ArrayLike<number>, windows: readonly NabWindow[]): WindowSpan[] {
  const sorted = [...windows].sort((a, b) => a.startMs - b.startMs)
  const spans: WindowSpan[] = []
  let row = 0
  for (const window of sorted) {
    if (!(window.endMs >= window.startMs)) {
      throw new NabError('NAB_ERR_LABELS', `${file}: window ${describe(window)} ends before it starts`, { file })
    }
    const previous = spans[spans.length - 1]
    if (previous !== undefined && (timestamps[previous.last] as number) >= window.startMs) {
      throw new NabError('NAB_ERR_LABELS', `${file}: window ${describe(window)} overlaps the window before it`, { file })
    }
    while (row < timestamps.length && (timestamps[row] as number) < window.startMs) row++
    const first = row
    while (row < timestamps.length && (timestamps[row] as number) <= window.endMs) row++
    if (row === first) {
      throw new NabError('NAB_ERR_LABELS', `${file}: window ${describe(window)} holds no row of the file`, { file })
    }
    spans.push({ first, last: row - 1 })
  }
  return spans
}

function describe(window: NabWindow): string {
  return `[${new Date(window.startMs).toISOString()}, ${new Date(window.endMs).toISOString()}]`
}
