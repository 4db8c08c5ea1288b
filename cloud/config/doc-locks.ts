/**
 * One promise chain per key: an operation on a document runs only after the
 * previous one on it finished, so a device sync and an operator edit never
 * read-modify-write the same document at once.
 */
export class KeyedLocks {
  readonly #tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    const next = previous.then(fn, fn)
    const tail = next.catch(() => undefined)
    this.#tails.set(key, tail)
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return next
  }
}
