/**
 * Device request nonces the hub has accepted (shared/device-auth), kept in the
 * hub store so that a signed request captured before a hub restart is refused
 * after it too. Each nonce is held until `expiresAt`: the end of the window in
 * which its timestamp still passes the clock-skew check; after that the
 * timestamp check refuses a replay by itself, so the nonce can go.
 */
export interface ReplayNonceRepository {
  /** True when `nonce` of `deviceId` is held and has not expired at `now`. */
  seen(deviceId: string, nonce: string, now: number): Promise<boolean>
  /**
   * Holds `nonce` until `expiresAt`, atomically: false when it is already held
   * and unexpired at `now` (of two requests racing with one nonce, one wins).
   */
  remember(deviceId: string, nonce: string, expiresAt: number, now: number): Promise<boolean>
  /** Deletes the nonces expired at `now`; returns how many. */
  prune(now: number): Promise<number>
}
