import { TLSSocket } from 'node:tls'
import type { AccessPolicy, ClientAccess, ClientIdentity } from './access-policy.js'
import { CredentialCheckBusy, type CredentialStore } from './credential-store.js'
import { USERNAME_PATTERN } from './password-file.js'
import { SessionOwners } from './session-owners.js'

/** Why the broker refused something; each is a label of cloudos_edge_mqtt_denials_total. */
export const MQTT_DENIAL_REASONS = [
  'connect_bad_credentials',
  'connect_anonymous',
  'connect_certificate',
  'connect_client_id_taken',
  'connect_identifier_rejected',
  'connect_server_busy',
  'publish',
  'subscribe',
  'deliver',
] as const
export type MqttDenialReason = (typeof MQTT_DENIAL_REASONS)[number]

/** The parts of an aedes client this module reads (kept structural so tests need no aedes). */
export interface SecuredClient {
  id: string
  clean: boolean
  conn: unknown
  /** Set by aedes once the connection is closed. */
  closed?: boolean
  close(done?: () => void): void
}

/** An error aedes turns into the CONNACK return code it carries (MQTT 3.1.1 section 3.2.2.3). */
export class ConnackRefusal extends Error {
  constructor(
    readonly returnCode: 2 | 3 | 4 | 5,
    message: string,
  ) {
    super(message)
  }
}

export interface BrokerSecurityOptions {
  /** The password file (absent: no password can be checked, every username is refused). */
  credentials: CredentialStore | undefined
  /** Whether clients without credentials are accepted (listener-exposure.ts decides). */
  anonymous: boolean
  /** The ACL: the file's, or the built-in defaults. Replaced on reload. */
  policy: () => AccessPolicy
}

interface ClientState {
  identity: ClientIdentity
  access: ClientAccess
  /** The ACL generation the access was built from: a reload rebuilds it on next use. */
  generation: number
}

/**
 * Identity and authorisation for the embedded broker, as aedes hooks:
 * authenticate (password file, client certificate, anonymous), the client id
 * ownership rule, and the ACL on publish, subscribe and every delivery
 * (retained and queued ones included). Denials are counted per reason.
 */
export class BrokerSecurity {
  readonly denials: Record<MqttDenialReason, number> = Object.fromEntries(MQTT_DENIAL_REASONS.map((r) => [r, 0])) as Record<MqttDenialReason, number>
  readonly #options: BrokerSecurityOptions
  readonly #clients = new WeakMap<object, ClientState>()
  readonly #zeroLengthIds = new WeakSet<object>()
  readonly #owners = new SessionOwners()
  #generation = 0

  constructor(options: BrokerSecurityOptions) {
    this.#options = options
  }

  /** The ACL changed (file reloaded): every client's access is rebuilt on its next check. */
  policyChanged(): void {
    this.#generation++
  }

  /** aedes preConnect: remembers a zero-length client id, which aedes replaces with a generated one before authenticate runs. */
  noteConnect(client: object, packet: { clientId: string }): void {
    if (packet.clientId === '') this.#zeroLengthIds.add(client)
  }

  /** aedes authenticate: resolves with the identity, or rejects with a ConnackRefusal. */
  async authenticate(client: SecuredClient, username: string | undefined, password: Buffer | undefined): Promise<ClientIdentity> {
    // [MQTT-3.1.3-7], [MQTT-3.1.3-8]: a zero-byte client id needs clean session 1; else CONNACK 2 (identifier rejected).
    if (this.#zeroLengthIds.has(client) && !client.clean) {
      throw this.#refuse('connect_identifier_rejected', 2, 'a zero-length client id needs clean session 1 (MQTT-3.1.3-8)')
    }
    const identity = await this.#identify(client, username, password)
    // Gone while its password was checked: claim nothing (aedes sends no CONNACK to a closed client).
    if (client.closed === true) throw new ConnackRefusal(5, 'the connection closed during authentication')
    if (!this.#owners.mayUse(client.id, identity.username)) {
      throw this.#refuse('connect_client_id_taken', 5, `client id ${JSON.stringify(client.id)} belongs to another user`)
    }
    this.#owners.claim(client.id, identity.username, !client.clean, client)
    this.#clients.set(client, { identity, access: this.#options.policy().forClient(identity, client.id), generation: this.#generation })
    return identity
  }

  async #identify(client: SecuredClient, username: string | undefined, password: Buffer | undefined): Promise<ClientIdentity> {
    const socket = client.conn
    if (socket instanceof TLSSocket && socket.authorized) {
      // The TLS listener verified the chain against its CA: the certificate's CN is the username (mTLS).
      const cn = socket.getPeerCertificate()?.subject?.CN
      const name = Array.isArray(cn) ? undefined : cn
      if (name === undefined || !USERNAME_PATTERN.test(name)) throw this.#refuse('connect_certificate', 5, 'the client certificate has no usable CN')
      if (username !== undefined && username !== name) throw this.#refuse('connect_certificate', 4, 'the username differs from the client certificate CN')
      return { username: name, via: 'certificate' }
    }
    if (username !== undefined) {
      const credentials = this.#options.credentials
      let ok = false
      try {
        ok = credentials !== undefined && password !== undefined && USERNAME_PATTERN.test(username) && (await credentials.verify(username, password))
      } catch (err) {
        if (err instanceof CredentialCheckBusy) throw this.#refuse('connect_server_busy', 3, err.message)
        throw err
      }
      if (!ok) throw this.#refuse('connect_bad_credentials', 4, 'bad user name or password')
      return { username, via: 'password' }
    }
    if (!this.#options.anonymous) throw this.#refuse('connect_anonymous', 5, 'anonymous clients are not accepted here: connect with a username and password')
    return { username: null, via: 'anonymous' }
  }

  /** The connection ended (aedes client closed, whatever the cause). */
  disconnected(client: SecuredClient): void {
    this.#owners.release(client.id, client)
  }

  /** PUBLISH from a client (wills included). A null client is a will from another broker instance: never ours, refused. */
  mayPublish(client: object | null, topic: string): boolean {
    const access = client === null ? undefined : this.#access(client)
    if (access?.mayPublish(topic) === true) return true
    this.denials.publish++
    return false
  }

  maySubscribe(client: object, filter: string): boolean {
    if (this.#access(client)?.maySubscribe(filter) === true) return true
    this.denials.subscribe++
    return false
  }

  /** Runs per message and subscriber: a cached decision per topic (access-policy.ts). */
  mayReceive(client: object, topic: string): boolean {
    if (this.#access(client)?.mayReceive(topic) === true) return true
    this.denials.deliver++
    return false
  }

  identityOf(client: object): ClientIdentity | undefined {
    return this.#clients.get(client)?.identity
  }

  #access(client: object): ClientAccess | undefined {
    const state = this.#clients.get(client)
    if (state === undefined) return undefined
    if (state.generation !== this.#generation) {
      state.access = this.#options.policy().forClient(state.identity, (client as SecuredClient).id)
      state.generation = this.#generation
    }
    return state.access
  }

  #refuse(reason: MqttDenialReason, returnCode: 2 | 3 | 4 | 5, message: string): ConnackRefusal {
    this.denials[reason]++
    return new ConnackRefusal(returnCode, message)
  }
}
