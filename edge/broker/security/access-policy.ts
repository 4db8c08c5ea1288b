import type { AclAccess, AclRule, AclRules } from './acl-file.js'
import { compileTopicFilter, filterCovers, type TopicMatcher } from './topic-filter.js'

/** Who a connection is: a username (from the password file or a client certificate's CN) or anonymous (null). */
export interface ClientIdentity {
  username: string | null
  via: 'anonymous' | 'password' | 'certificate'
}

/** What one connected client may do; built once at CONNECT and asked on every publish, subscribe and delivery. */
export interface ClientAccess {
  /** PUBLISH from the client (ACL "write"). */
  mayPublish(topic: string): boolean
  /** Delivery of a message, retained ones included, to the client (ACL "read"). */
  mayReceive(topic: string): boolean
  /** SUBSCRIBE: granted when a read grant covers the whole filter (else 0x80, MQTT 3.1.1 section 3.9.3). */
  maySubscribe(filter: string): boolean
}

export interface AccessPolicy {
  forClient(identity: ClientIdentity, clientId: string): ClientAccess
}

/** `alerts/#` and `commands/#` (which also match the bare parent level, MQTT 3.1.1 section 4.7.1.2); runs per message, so no string is built. */
const edgeOnly = (topic: string) =>
  topic.startsWith('alerts/') || topic.startsWith('commands/') || topic === 'alerts' || topic === 'commands'

/**
 * The built-in rules when no `mqtt.aclFile` is set (documented in
 * docs/mqtt-security.md):
 * - a user may write `sensors/<username>/#` and read nothing;
 * - anonymous (loopback listener, or `mqtt.allowAnonymous`) may read every
 *   topic and write every topic except `alerts/#` and `commands/#`;
 * - nobody publishes `$...` topics (reserved to the broker, MQTT 3.1.1 section 4.7.2).
 * Alerts and rule actions are published by the edge itself (not a client), which no ACL restricts.
 */
export const defaultAccessPolicy: AccessPolicy = {
  forClient(identity) {
    if (identity.username === null) {
      return {
        mayPublish: (topic) => topic.charCodeAt(0) !== 36 && !edgeOnly(topic),
        mayReceive: (topic) => topic.charCodeAt(0) !== 36,
        maySubscribe: (filter) => filter.charCodeAt(0) !== 36,
      }
    }
    const own = `sensors/${identity.username}`
    const prefix = `${own}/`
    return {
      mayPublish: (topic) => topic.startsWith(prefix) || topic === own,
      mayReceive: () => false,
      maySubscribe: () => false,
    }
  },
}

interface CompiledRule {
  filter: string
  access: AclAccess
  matches: TopicMatcher
}

/** Decisions cached per client and topic: sensors publish the same few topics over and over. */
const CACHE_LIMIT = 512

/**
 * Mosquitto's acl_file semantics (its security_default.c): the client's own
 * rules (its `user` block, or the lines before any `user` for anonymous)
 * first, then the `pattern` rules; within each list `deny` rules come first.
 * The first matching rule that grants the access allows it; a matching deny
 * refuses; nothing matching refuses. A `%u` pattern never applies to an
 * anonymous client, and a username or client id holding `+` or `#` gets no
 * pattern at all (it would widen the filter).
 */
export class AclFilePolicy implements AccessPolicy {
  readonly #rules: AclRules
  readonly #compiled = new Map<string, CompiledRule[]>()

  constructor(rules: AclRules) {
    this.#rules = rules
  }

  forClient(identity: ClientIdentity, clientId: string): ClientAccess {
    const own = identity.username === null ? this.#rules.anonymous : this.#rules.users.get(identity.username) ?? []
    const ownKey = identity.username === null ? '\u0000anonymous' : `user:${identity.username}`
    let ownCompiled = this.#compiled.get(ownKey)
    if (ownCompiled === undefined) {
      ownCompiled = compileRules(own)
      this.#compiled.set(ownKey, ownCompiled)
    }
    const rules = [...ownCompiled, ...compileRules(substitutePatterns(this.#rules.patterns, identity.username, clientId))]
    return cachedAccess(rules)
  }
}

function substitutePatterns(patterns: readonly AclRule[], username: string | null, clientId: string): AclRule[] {
  const dangerous = (value: string) => value.includes('+') || value.includes('#')
  if ((username !== null && dangerous(username)) || dangerous(clientId)) return []
  const out: AclRule[] = []
  for (const rule of patterns) {
    if (rule.filter.includes('%u') && username === null) continue
    const filter = rule.filter.replaceAll('%u', username ?? '').replaceAll('%c', clientId)
    out.push({ ...rule, filter })
  }
  return out
}

/** Deny rules first (Mosquitto puts them at the head of each list), order otherwise kept. */
function compileRules(rules: readonly AclRule[]): CompiledRule[] {
  const ordered = [...rules.filter((r) => r.access === 'deny'), ...rules.filter((r) => r.access !== 'deny')]
  return ordered.map((r) => ({ filter: r.filter, access: r.access, matches: compileTopicFilter(r.filter) }))
}

const grants = (access: AclAccess, want: 'read' | 'write') => access === 'readwrite' || access === want

function decide(rules: readonly CompiledRule[], topic: string, want: 'read' | 'write'): boolean {
  for (const rule of rules) {
    if (!rule.matches(topic)) continue
    if (rule.access === 'deny') return false
    if (grants(rule.access, want)) return true
  }
  return false
}

function cachedAccess(rules: readonly CompiledRule[]): ClientAccess {
  const writes = new Map<string, boolean>()
  const reads = new Map<string, boolean>()
  const cached = (cache: Map<string, boolean>, topic: string, want: 'read' | 'write') => {
    let allowed = cache.get(topic)
    if (allowed === undefined) {
      allowed = decide(rules, topic, want)
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(topic, allowed)
    }
    return allowed
  }
  return {
    mayPublish: (topic) => cached(writes, topic, 'write'),
    mayReceive: (topic) => cached(reads, topic, 'read'),
    maySubscribe(filter) {
      for (const rule of rules) {
        if (!filterCovers(rule.filter, filter)) continue
        if (rule.access === 'deny') return false
        if (grants(rule.access, 'read')) return true
      }
      return false
    },
  }
}
