import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { DetectError } from './detect-error.js'

/**
 * Where `cloudos detect` writes: a file, written under a temporary name and
 * renamed into place only when complete (a failed run leaves no half file
 * that looks like a result), or a stream such as stdout. Writes wait for the
 * stream to drain, so memory stays flat however large the input.
 */
export class CsvSink {
  readonly #out: Writable
  readonly #path: string | undefined
  readonly #temporary: string | undefined
  #failure: Error | undefined

  private constructor(out: Writable, path?: string, temporary?: string) {
    this.#out = out
    this.#path = path
    this.#temporary = temporary
    out.on('error', (err) => {
      this.#failure ??= err
    })
  }

  static async toFile(path: string): Promise<CsvSink> {
    const temporary = `${path}.partial-${process.pid}`
    const out: WriteStream = createWriteStream(temporary)
    try {
      await once(out, 'open')
    } catch (err) {
      throw unwritable(path, err as Error)
    }
    return new CsvSink(out, path, temporary)
  }

  static toStream(out: Writable): CsvSink {
    return new CsvSink(out)
  }

  async write(text: string): Promise<void> {
    this.#check()
    if (!this.#out.write(text)) {
      await this.#drained()
      this.#check()
    }
  }

  /** Waits for 'drain', or for an error (recorded by the constructor's listener). */
  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#out.off('drain', done)
        this.#out.off('error', done)
        this.#out.off('close', done)
        resolve()
      }
      this.#out.on('drain', done)
      this.#out.on('error', done)
      this.#out.on('close', done)
    })
  }

  /** Flushes and, for a file, moves it into place. */
  async finish(): Promise<void> {
    this.#check()
    if (this.#temporary === undefined) return
    this.#out.end()
    try {
      await once(this.#out, 'finish')
      await rename(this.#temporary, this.#path as string)
    } catch (err) {
      await this.abandon()
      throw unwritable(this.#path as string, err as Error)
    }
  }

  /** Drops a file that will not be completed. */
  async abandon(): Promise<void> {
    if (this.#temporary === undefined) return
    this.#out.destroy()
    await rm(this.#temporary, { force: true })
  }

  #check(): void {
    if (this.#failure !== undefined) throw unwritable(this.#path ?? 'the output stream', this.#failure)
  }
}

function unwritable(path: string, err: Error): DetectError {
  return new DetectError('DETECT_ERR_OUTPUT_UNWRITABLE', `cannot write ${path}: ${err.message}`, { file: path })
}
