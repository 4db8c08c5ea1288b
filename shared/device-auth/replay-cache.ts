/**
 * Nonces seen recently, per device, each kept until its expiry (the end of
 * the window in which its timestamp is still accepted), in memory: for
 * single-process stand-ins that live for one test (test/harness). The hub
 * keeps its nonces in its store (cloud/device-scope/replay-nonce-repository.ts),
 * because a process restart forgets these: a request captured before a
 * restart would be accepted once after it.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>()
  private nextSweep = 0

  constructor(private readonly clock: () => number = Date.now) {}

  /** Records `nonce` for `deviceId`; false if it is already there and not expired. */
  remember(deviceId: string, nonce: string, expiresAt: number): boolean {
    const now = this.clock()
    this.sweep(now)
    const key = `${deviceId}\n${nonce}`
    const existing = this.seen.get(key)
    if (existing !== undefined && existing >= now) return false
    this.seen.set(key, expiresAt)
    return true
  }

  get size(): number {
    return this.seen.size
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return
    for (const [key, expiresAt] of this.seen) if (expiresAt < now) this.seen.delete(key)
    this.nextSweep = now + 10_000
  }
}
