/**
 * Which user holds each client id, so that a client id is taken over only by
 * the same user (MQTT 3.1.1 section 3.1.4 lets a new connection with the same
 * id replace the old one and inherit its persistent session: without this, any
 * client could kick a sensor off and read its queued messages). A connected
 * client's id is held until it disconnects; a persistent session's
 * (clean session 0) stays with the user that created it while it is away.
 */
export class SessionOwners {
  /** client id -> owner (username, or null for anonymous) and whether the session outlives the connection. */
  readonly #owners = new Map<string, { owner: string | null; persistent: boolean; holder: object | undefined }>()

  /** True when `clientId` is free or held by `owner`. */
  mayUse(clientId: string, owner: string | null): boolean {
    const held = this.#owners.get(clientId)
    return held === undefined || held.owner === owner
  }

  /** Records the successful CONNECT of `holder` (the aedes client) for `clientId`. */
  claim(clientId: string, owner: string | null, persistent: boolean, holder: object): void {
    this.#owners.set(clientId, { owner, persistent, holder })
  }

  /** The connection `holder` ended: a clean session's id is free again; a persistent one stays owned. */
  release(clientId: string, holder: object): void {
    const held = this.#owners.get(clientId)
    if (held === undefined || held.holder !== holder) return
    if (held.persistent) held.holder = undefined
    else this.#owners.delete(clientId)
  }

  get size(): number {
    return this.#owners.size
  }
}
