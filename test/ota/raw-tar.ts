/**
 * Tar blocks written by hand (POSIX.1-2001 ustar headers, pax extended
 * headers, GNU long names) for bundles a honest writer never makes: links,
 * huge headers, entries whose header lies about the data that follows.
 */

export const TAR_BLOCK = 512

export type TarType = 'file' | 'link' | 'symlink' | 'directory' | 'pax' | 'pax-global' | 'gnu-long-name'

const TYPE_FLAGS: Record<TarType, string> = { file: '0', link: '1', symlink: '2', directory: '5', pax: 'x', 'pax-global': 'g', 'gnu-long-name': 'L' }

export interface TarHeaderFields {
  name: string
  size: number
  type?: TarType
  linkname?: string
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1')
}

/** One 512-byte ustar header (the checksum computed as the format says: the field counted as spaces). */
export function tarHeader(fields: TarHeaderFields): Buffer {
  const block = Buffer.alloc(TAR_BLOCK)
  block.write(fields.name.slice(0, 100), 0, 100, 'utf8')
  writeOctal(block, 0o644, 100, 8)
  writeOctal(block, 0, 108, 8)
  writeOctal(block, 0, 116, 8)
  writeOctal(block, fields.size, 124, 12)
  writeOctal(block, 0, 136, 12)
  block.write(TYPE_FLAGS[fields.type ?? 'file'], 156, 1, 'latin1')
  if (fields.linkname !== undefined) block.write(fields.linkname.slice(0, 100), 157, 100, 'utf8')
  block.write('ustar\x0000', 257, 8, 'latin1')
  block.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1')
  return block
}

/** Zero bytes up to the next block boundary. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK)
}

/** A whole entry: header, data, padding. */
export function tarEntry(fields: Omit<TarHeaderFields, 'size'>, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([tarHeader({ ...fields, size: data.length }), data, tarPadding(data.length)])
}

/** The data of a pax extended header: `<length> <key>=<value>\n` records, the length counting itself. */
export function paxRecords(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const body = ` ${key}=${value}\n`
    let length = Buffer.byteLength(body) + 1
    while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body)
    return `${length}${body}`
  })
  return Buffer.from(lines.join(''), 'utf8')
}

/** End of archive: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * TAR_BLOCK)
