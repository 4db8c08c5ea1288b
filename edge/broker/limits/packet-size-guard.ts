/**
 * Finds MQTT packet boundaries in a byte stream without buffering it, and
 * reports the first packet whose remaining length is above a limit as soon as
 * its fixed header has arrived (MQTT 3.1.1 section 2.2: one byte of type and
 * flags, then the remaining length in 1 to 4 bytes of 7 bits each, section
 * 2.2.3). Memory is constant: the packet body is only counted, never kept.
 */
export class PacketSizeScanner {
  readonly #maxRemainingLength: number
  /** Body bytes of the current packet still to pass. */
  #bodyLeft = 0
  /** Where in the fixed header we are: 0 = expecting the type byte, n > 0 = n length bytes read. */
  #headerStep = 0
  #length = 0
  #multiplier = 1

  constructor(maxRemainingLength: number) {
    this.#maxRemainingLength = maxRemainingLength
  }

  /**
   * Scans the next bytes of the stream. Returns the announced remaining length
   * of the first packet above the limit, or -1 when every packet so far fits.
   * A malformed length (a fifth length byte) is left to the MQTT parser, which
   * closes the connection [MQTT-2.2.3]; the scanner then stops counting.
   */
  scan(chunk: Uint8Array): number {
    let i = 0
    const end = chunk.length
    while (i < end) {
      if (this.#bodyLeft > 0) {
        const step = Math.min(this.#bodyLeft, end - i)
        this.#bodyLeft -= step
        i += step
        continue
      }
      const byte = chunk[i++]!
      if (this.#headerStep === 0) {
        this.#headerStep = 1
        this.#length = 0
        this.#multiplier = 1
        continue
      }
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      if ((byte & 0x80) !== 0) {
        if (++this.#headerStep > 4) return -1
        continue
      }
      if (this.#length > this.#maxRemainingLength) return this.#length
      this.#bodyLeft = this.#length
      this.#headerStep = 0
    }
    return -1
  }
}

/** What aedes' Client holds that the guard needs: its mqtt-packet parser (a field named `_parser` in aedes 1.x). */
interface ParsingClient {
  _parser?: { parse(chunk: Buffer): number }
}

/**
 * Puts a PacketSizeScanner in front of the MQTT parser of one aedes client:
 * aedes reads what the socket holds and hands it to `client._parser.parse`,
 * and mqtt-packet keeps every byte of a packet until the whole packet has
 * arrived (it has no size limit), so a 100 MB PUBLISH would be held in memory
 * before any hook of ours could see it. The scanner sees each chunk first; a
 * chunk announcing an oversized packet never reaches the parser, and
 * `onOversized` closes the connection (MQTT 3.1.1 has no packet to say why).
 */
export function guardPacketSize(client: unknown, maxRemainingLength: number, onOversized: (announcedBytes: number) => void): void {
  const parser = (client as ParsingClient)._parser
  // Fail loudly if an aedes upgrade renames the field: an unguarded broker would start silently.
  if (parser === undefined || typeof parser.parse !== 'function') throw new Error('aedes Client has no _parser: the packet size guard cannot be installed (aedes version changed?)')
  const parse = parser.parse.bind(parser)
  const scanner = new PacketSizeScanner(maxRemainingLength)
  let refused = false
  parser.parse = (chunk: Buffer) => {
    if (refused) return 0
    const oversized = scanner.scan(chunk)
    if (oversized < 0) return parse(chunk)
    refused = true
    onOversized(oversized)
    return 0
  }
}
