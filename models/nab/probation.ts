/** NAB's share of each file that is a probationary period (detections there do not count). */
export const NAB_PROBATION_PERCENT = 0.15

/**
 * Rows at the start of a file that are not scored: a detector needs some data
 * to learn from before it is judged. NAB takes 15% of the rows, but never more
 * than 15% of 5,000 rows (750), so long files are not mostly probation. Every
 * file of the NAB corpus is shorter than 5,000 rows, where this is just 15%.
 */
export function probationaryLength(rows: number, percent = NAB_PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * rows), Math.floor(percent * 5000))
}
