import { CloudosError } from '../../shared/errors.js'

/** Inclusive byte positions, as in Content-Range. */
export interface ByteRange {
  start: number
  end: number
}

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/

/**
 * Parses a Range header for a file of `size` bytes (RFC 9110 section 14.1.2):
 * `bytes=first-last`, `bytes=first-` or `bytes=-suffix`. The hub serves one
 * range; anything it cannot satisfy as one range inside the file (several
 * ranges, other units, first past the end, first after last) is refused with
 * 416, so an updater that resumes wrongly hears about it instead of getting
 * bytes it did not ask for. A last position past the end is clipped to it,
 * as the RFC says.
 */
export function parseByteRange(header: string, size: number): ByteRange {
  const refuse = (why: string) =>
    new CloudosError('RELEASE_ERR_RANGE_NOT_SATISFIABLE', `Range "${header.slice(0, 100)}" ${why}`, { bundleBytes: size })
  const match = SINGLE_RANGE.exec(header.trim())
  if (match === null) throw refuse('is not one byte range (bytes=first-last, bytes=first- or bytes=-suffix)')
  const [, first, last] = match as unknown as [string, string, string]
  if (first === '') {
    if (last === '') throw refuse('names no position')
    const suffix = Number(last)
    if (suffix === 0 || size === 0) throw refuse('asks for no bytes')
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (start >= size) throw refuse(`starts at or after the end of the ${size}-byte bundle`)
  if (last === '') return { start, end: size - 1 }
  const end = Number(last)
  if (end < start) throw refuse('ends before it starts')
  return { start, end: Math.min(end, size - 1) }
}
