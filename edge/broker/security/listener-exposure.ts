import { isIP } from 'node:net'
import { CloudosError } from '../../../shared/errors.js'

/**
 * Secure by default, as Mosquitto 2 is: a broker reachable only from this
 * machine may take anonymous clients (the demo and the simulator rely on it);
 * a listener on any other interface needs authentication, or an explicit
 * `mqtt.allowAnonymous: true` that is warned about at every start.
 */

/** True for names that only ever reach this machine: 127.0.0.0/8, ::1, "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h)
  return false
}

export interface ExposureInput {
  /** Every interface a listener of the broker binds (mqtt.host, and the TLS listener's host when there is one). */
  listenerHosts: readonly string[]
  /** mqtt.allowAnonymous as configured (undefined: not set). */
  allowAnonymous: boolean | undefined
  /** A password file exists (or mqtt.passwordFile is set), or a TLS listener requires client certificates. */
  authenticationConfigured: boolean
}

export interface ExposureDecision {
  anonymous: boolean
  /** Logged at every start when anonymous clients are accepted on a public listener. */
  warning?: string
}

/** Decides whether anonymous clients are accepted, or refuses to start (EDGE_ERR_MQTT_PUBLIC_NO_AUTH). */
export function decideAnonymousAccess(input: ExposureInput): ExposureDecision {
  const publicHosts = input.listenerHosts.filter((h) => !isLoopbackHost(h))
  if (publicHosts.length === 0) return { anonymous: input.allowAnonymous ?? true }
  if (input.allowAnonymous === true) {
    return {
      anonymous: true,
      warning: `the MQTT broker accepts anonymous clients on ${publicHosts.join(', ')} (mqtt.allowAnonymous is true): anyone on the network can connect`,
    }
  }
  if (!input.authenticationConfigured) {
    throw new CloudosError(
      'EDGE_ERR_MQTT_PUBLIC_NO_AUTH',
      `the MQTT broker would listen on ${publicHosts.join(', ')} with no authentication configured; add users with "cloudos mqtt user add --data-dir DIR NAME" (or set mqtt.passwordFile), keep mqtt.host on 127.0.0.1, or set mqtt.allowAnonymous to true`,
      { hosts: publicHosts },
    )
  }
  return { anonymous: false }
}
