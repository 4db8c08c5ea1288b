import type { Static, TSchema } from '@sinclair/typebox'

/**
 * One request/answer exchange between an edge and the hub, defined once for
 * both sides: the hub's route validates and documents (OpenAPI) the body and
 * the answer with these schemas, and the edge's hub client checks every
 * answer against `answer` before it trusts a field of it.
 *
 * `body` is the JSON body's schema, or null when there is none (a GET) or it
 * is not JSON (a telemetry batch is codec bytes, shared/telemetry-batch).
 */
export interface Exchange<Body extends TSchema | null, Answer extends TSchema> {
  /** What the exchange is called in errors and logs, e.g. "heartbeat". */
  readonly name: string
  readonly method: 'GET' | 'POST'
  /** Path on the hub (without query). */
  readonly path: string
  /** The HTTP status of a successful answer. */
  readonly status: number
  readonly body: Body
  readonly answer: Answer
}

/** Any exchange, whatever its schemas. */
export type AnyExchange = Exchange<TSchema | null, TSchema>

/** The JSON body an exchange sends (undefined when it has none). */
export type ExchangeBody<E extends AnyExchange> = E['body'] extends TSchema ? Static<E['body']> : undefined

/** The answer an exchange receives, once checked. */
export type ExchangeAnswer<E extends AnyExchange> = Static<E['answer']>

/** Defines an exchange; the `as const`-like identity keeps the schema types for Static. */
export const defineExchange = <Body extends TSchema | null, Answer extends TSchema>(exchange: Exchange<Body, Answer>): Exchange<Body, Answer> => Object.freeze(exchange)
