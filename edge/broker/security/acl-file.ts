import { readFileSync } from 'node:fs'
import { CloudosError } from '../../../shared/errors.js'
import { isValidTopicFilter } from './topic-filter.js'

/** What a rule grants: Mosquitto's `read`, `write`, `readwrite`, and `deny` (no access, checked before any grant). */
export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny'

export interface AclRule {
  access: AclAccess
  /** A topic filter; in a `pattern` rule it may hold `%u` (username) and `%c` (client id). */
  filter: string
  line: number
}

/** A parsed Mosquitto `acl_file`. */
export interface AclRules {
  /** `topic` lines before any `user` line: they apply to anonymous clients only. */
  anonymous: AclRule[]
  /** `topic` lines after `user <name>`, per username. */
  users: Map<string, AclRule[]>
  /** `pattern` lines, wherever they are: they apply to every client. */
  patterns: AclRule[]
}

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny'])
/** An ACL file is written by hand on the device: 1 MiB is far above any real one and bounds memory before parsing. */
const MAX_ACL_FILE_BYTES = 1024 * 1024

/** Reads and parses an ACL file; a missing, oversize or malformed file is EDGE_ERR_MQTT_ACL_FILE naming the line. */
export function readAclFile(path: string): AclRules {
  let text: string
  try {
    const bytes = readFileSync(path)
    if (bytes.length > MAX_ACL_FILE_BYTES) throw new Error(`larger than ${MAX_ACL_FILE_BYTES} bytes`)
    text = bytes.toString('utf8')
  } catch (err) {
    throw new CloudosError('EDGE_ERR_MQTT_ACL_FILE', `cannot read the MQTT ACL file ${path}: ${(err as Error).message}`, { path })
  }
  return parseAclFile(text, path)
}

/**
 * Parses Mosquitto's acl_file syntax (mosquitto.conf(5)): `user <name>`,
 * `topic [read|write|readwrite|deny] <filter>`, `pattern [...] <filter>`,
 * `#` comments and blank lines. The access word is optional (readwrite).
 */
export function parseAclFile(text: string, source = 'ACL file'): AclRules {
  const rules: AclRules = { anonymous: [], users: new Map(), patterns: [] }
  let currentUser: string | undefined
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    const lineNumber = i + 1
    if (line === '' || line.startsWith('#')) continue
    const fail = (why: string) =>
      new CloudosError('EDGE_ERR_MQTT_ACL_FILE', `${source} line ${lineNumber}: ${why} (got ${JSON.stringify(line)})`, { source, line: lineNumber })
    const [keyword, ...rest] = line.split(/\s+/)
    if (keyword === 'user') {
      if (rest.length !== 1) throw fail('"user" takes exactly one username')
      currentUser = rest[0] as string
      if (!rules.users.has(currentUser)) rules.users.set(currentUser, [])
      continue
    }
    if (keyword !== 'topic' && keyword !== 'pattern') throw fail('a line starts with "user", "topic" or "pattern"')
    let access: AclAccess = 'readwrite'
    let filterWords = rest
    if (rest.length > 1 && ACCESS.has(rest[0] as string)) {
      access = rest[0] as AclAccess
      filterWords = rest.slice(1)
    }
    // Mosquitto takes the rest of the line as the filter (topics may hold spaces).
    const filter = filterWords.join(' ')
    if (filter === '') throw fail(`"${keyword}" needs a topic filter`)
    if (!isValidTopicFilter(filter)) throw fail(`"${filter}" is not a valid MQTT topic filter (MQTT 3.1.1 section 4.7.1)`)
    const rule = { access, filter, line: lineNumber }
    if (keyword === 'pattern') rules.patterns.push(rule)
    else if (currentUser === undefined) rules.anonymous.push(rule)
    else rules.users.get(currentUser)?.push(rule)
  }
  return rules
}
