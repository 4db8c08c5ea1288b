import { windowSpans, type NabWindow, type WindowSpan } from './anomaly-windows.js'
import { probationaryLength } from './probation.js'
import { scaledSigmoid, truePositiveReward } from './scaled-sigmoid.js'

/**
 * What a detection on each row of one file would be worth, independent of the
 * profile weights (they multiply these values later):
 *
 * - inside a window, the true-positive reward truePositiveReward(y) with
 *   y = -(last - row + 1) / width: 1 on the window's first row, falling
 *   towards 0 at its last row;
 * - after a window (and before the next), the false-positive cost
 *   scaledSigmoid(y) with y = (row - last) / (width - 1), the distance past
 *   that window's end in its own widths: near 0 just after it, -1 from three
 *   widths on (a detection just late is punished less than a random one);
 * - before the first window, -1.
 *
 * Rows in the probationary period are not scored at all.
 */
export interface FileScoringPlan {
  file: string
  rows: number
  /** Rows 0..probation-1 are not scored. */
  probation: number
  /** Every labelled window, in time order. */
  spans: readonly WindowSpan[]
  /** Windows that reach past the probationary period: the ones that can be detected or missed. */
  scoredWindows: number
  /** Per row: the index in `spans` of the window holding it, or -1. */
  windowOfRow: Int32Array
  /** Per row: the reward (in a window, > 0) or cost (outside, < 0) of a detection there, unweighted. */
  valueOfRow: Float64Array
}

export function planFileScoring(file: string, timestamps: ArrayLike<number>, windows: readonly NabWindow[], probationPercent?: number): FileScoringPlan {
  const rows = timestamps.length
  const spans = windowSpans(file, timestamps, windows)
  const probation = probationaryLength(rows, probationPercent)
  const windowOfRow = new Int32Array(rows).fill(-1)
  const valueOfRow = new Float64Array(rows)
  let next = 0 // the first window not yet passed
  for (let row = 0; row < rows; row++) {
    while (next < spans.length && (spans[next] as WindowSpan).last < row) next++
    const current = spans[next]
    if (current !== undefined && current.first <= row) {
      const width = current.last - current.first + 1
      windowOfRow[row] = next
      valueOfRow[row] = truePositiveReward(-(current.last - row + 1) / width)
      continue
    }
    const passed = spans[next - 1]
    if (passed === undefined) {
      valueOfRow[row] = -1
    } else {
      const width = passed.last - passed.first + 1
      // A one-row window has no width to measure by: anything after it is far.
      valueOfRow[row] = width > 1 ? scaledSigmoid((row - passed.last) / (width - 1)) : -1
    }
  }
  const scoredWindows = spans.filter((span) => span.last >= probation).length
  return { file, rows, probation, spans, scoredWindows, windowOfRow, valueOfRow }
}
