import type { LimitHits } from './limit-hits.js'

export interface PersistenceBounds {
  maxRetainedMessageBytes: number
  maxRetainedMessages: number
  maxQueuedMessages: number
  maxQueuedBytes: number
}

interface QueuedFor {
  clientId: string
}
interface PacketLike {
  topic: string
  payload: Buffer | string
  messageId?: number
}
interface ClientLike {
  id: string
}
interface SubscriptionLike {
  topic: string
}

/** The methods of aedes' persistence (aedes-persistence 11, promise style) that the bounds wrap. */
export interface BoundablePersistence {
  storeRetained(packet: PacketLike): Promise<void>
  outgoingEnqueue(sub: QueuedFor, packet: PacketLike): Promise<void>
  outgoingEnqueueCombi(subs: QueuedFor[], packet: PacketLike): Promise<void>
  outgoingClearMessageId(client: ClientLike, packet: PacketLike): Promise<PacketLike | undefined>
  addSubscriptions(client: ClientLike, subs: SubscriptionLike[]): Promise<void>
}

/** Why a retained PUBLISH cannot be kept, or undefined when it can. */
export type RetainedRefusal = { limit: 'retained_size' | 'retained_count'; detail: string } | undefined

/**
 * Bounds what aedes keeps in memory for clients: retained messages (size of
 * each, number of topics), the QoS 1/2 queue of each persistent session, and
 * the payload bytes of all those queues together (a message queued for n
 * sessions counts n times, though they share its payload: an overestimate,
 * so the bound holds).
 *
 * The counts are kept beside the store rather than read from it (the memory
 * persistence keeps its maps private): a retained topic is counted when set
 * and uncounted when an empty retained payload deletes it (MQTT-3.3.1-10);
 * a queued message is counted when enqueued and uncounted when
 * outgoingClearMessageId removes it (its PUBACK, or a clean session draining
 * its queue), which is the only way the memory persistence shrinks a queue.
 *
 * A full queue drops the newer message, as Mosquitto's max_queued_messages
 * does (the memory store cannot drop its oldest: queued packets have no id
 * until delivered). If the session is online, aedes then cannot find the
 * message to send and disconnects the client: a subscriber this far behind is
 * not keeping up.
 */
export class BoundedPersistence {
  readonly #bounds: PersistenceBounds
  readonly #hits: LimitHits
  readonly #retainedBytes = new Map<string, number>()
  readonly #queued = new Map<string, number>()
  /** Subscriptions that passed authorizeSubscribe and wait to be stored, per client (see storeOnlyAuthorized). */
  readonly #authorizedToStore = new WeakMap<object, SubscriptionLike[]>()
  #retainedTotalBytes = 0
  #queuedTotal = 0
  #queuedBytes = 0

  constructor(bounds: PersistenceBounds, hits: LimitHits) {
    this.#bounds = bounds
    this.#hits = hits
  }

  get retainedMessages(): number {
    return this.#retainedBytes.size
  }

  get retainedBytes(): number {
    return this.#retainedTotalBytes
  }

  get queuedMessages(): number {
    return this.#queuedTotal
  }

  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** Checked before a retained PUBLISH is acknowledged or routed (authorizePublish), and again when it is stored. */
  checkRetained(topic: string, payloadBytes: number): RetainedRefusal {
    if (payloadBytes === 0) return undefined
    const { maxRetainedMessageBytes, maxRetainedMessages } = this.#bounds
    if (payloadBytes > maxRetainedMessageBytes) {
      return { limit: 'retained_size', detail: `retained message of ${payloadBytes} bytes on "${topic}" (mqtt.limits.maxRetainedMessageBytes ${maxRetainedMessageBytes})` }
    }
    if (!this.#retainedBytes.has(topic) && this.#retainedBytes.size >= maxRetainedMessages) {
      return { limit: 'retained_count', detail: `retained message on a new topic "${topic}" with ${this.#retainedBytes.size} kept (mqtt.limits.maxRetainedMessages ${maxRetainedMessages})` }
    }
    return undefined
  }

  /** Remembers a subscription authorizeSubscribe granted, for the next addSubscriptions of its client. */
  authorizedSubscription(client: object, sub: SubscriptionLike): void {
    const pending = this.#authorizedToStore.get(client)
    if (pending === undefined) this.#authorizedToStore.set(client, [sub])
    else pending.push(sub)
  }

  /** Replaces the bounded methods on aedes' persistence instance (after aedes.listen() created it). */
  wrap(persistence: BoundablePersistence): void {
    const storeRetained = persistence.storeRetained.bind(persistence)
    const enqueue = persistence.outgoingEnqueue.bind(persistence)
    const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence)
    const clear = persistence.outgoingClearMessageId.bind(persistence)
    const addSubscriptions = persistence.addSubscriptions.bind(persistence)

    persistence.storeRetained = async (packet) => {
      const bytes = packet.payload.length
      const refusal = this.checkRetained(packet.topic, bytes)
      if (refusal !== undefined) {
        this.#hits.record(refusal.limit, refusal.detail)
        throw new Error(refusal.detail)
      }
      await storeRetained(packet)
      this.#retainedTotalBytes -= this.#retainedBytes.get(packet.topic) ?? 0
      if (bytes === 0) this.#retainedBytes.delete(packet.topic)
      else {
        this.#retainedBytes.set(packet.topic, bytes)
        this.#retainedTotalBytes += bytes
      }
    }
    persistence.outgoingEnqueue = async (sub, packet) => {
      if (this.#admitQueued(sub.clientId, packet)) await enqueue(sub, packet)
    }
    persistence.outgoingEnqueueCombi = async (subs, packet) => {
      const admitted = subs.filter((sub) => this.#admitQueued(sub.clientId, packet))
      if (admitted.length > 0) await enqueueCombi(admitted, packet)
    }
    persistence.outgoingClearMessageId = async (client, packet) => {
      const cleared = await clear(client, packet)
      if (cleared !== undefined) this.#release(client.id, cleared.payload.length)
      return cleared
    }
    persistence.addSubscriptions = (client, _subs) => this.#storeOnlyAuthorized(client, addSubscriptions)
  }

  #admitQueued(clientId: string, packet: PacketLike): boolean {
    const queued = this.#queued.get(clientId) ?? 0
    if (queued >= this.#bounds.maxQueuedMessages) {
      this.#hits.record('queued_messages', `session "${clientId}" has ${queued} messages queued (mqtt.limits.maxQueuedMessages ${this.#bounds.maxQueuedMessages}); dropped one on "${packet.topic}"`)
      return false
    }
    const bytes = packet.payload.length
    if (this.#queuedBytes + bytes > this.#bounds.maxQueuedBytes) {
      this.#hits.record('queued_bytes', `${this.#queuedBytes} payload bytes queued for persistent sessions (mqtt.limits.maxQueuedBytes ${this.#bounds.maxQueuedBytes}); dropped a ${bytes}-byte message on "${packet.topic}" for session "${clientId}"`)
      return false
    }
    this.#queued.set(clientId, queued + 1)
    this.#queuedTotal++
    this.#queuedBytes += bytes
    return true
  }

  #release(clientId: string, bytes: number): void {
    const queued = this.#queued.get(clientId)
    if (queued === undefined) return
    this.#queuedTotal--
    this.#queuedBytes = Math.max(0, this.#queuedBytes - bytes)
    if (queued <= 1) this.#queued.delete(clientId)
    else this.#queued.set(clientId, queued - 1)
  }

  /**
   * aedes 1.2 stores a persistent session's subscriptions by calling
   * addSubscriptions(client, packet.subscriptions) once for each granted
   * filter of a SUBSCRIBE, with the whole list each time: the filters
   * refused (SUBACK 0x80, over the cap or denied by an ACL) would be stored
   * and come back at the next connect, and a SUBSCRIBE of n filters would
   * cost n^2. Stored instead: exactly the filters granted since the last call.
   */
  #storeOnlyAuthorized(client: ClientLike, addSubscriptions: (client: ClientLike, subs: SubscriptionLike[]) => Promise<void>): Promise<void> {
    const pending = this.#authorizedToStore.get(client)
    if (pending === undefined || pending.length === 0) return Promise.resolve()
    this.#authorizedToStore.delete(client)
    return addSubscriptions(client, pending)
  }
}
