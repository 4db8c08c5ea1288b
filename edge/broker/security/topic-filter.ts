/**
 * MQTT topic filters compiled once into matchers (MQTT 3.1.1 section 4.7).
 * ACL rules are matched on every publish and every delivery, so a filter is
 * turned into the cheapest test that decides it: string equality for a plain
 * topic, a prefix test for `a/b/#`, a level walk only when `+` appears.
 */

export type TopicMatcher = (topic: string) => boolean

/** True when `filter` is a valid MQTT 3.1.1 topic filter (section 4.7.1: `#` last and alone in its level, `+` alone in its level). */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65_535 || filter.includes('\u0000')) return false
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false
    if (level.includes('+') && level !== '+') return false
  }
  return true
}

/** A matcher for a valid topic filter. Wildcards never match topics starting with `$` at the first level [MQTT-4.7.2-1]. */
export function compileTopicFilter(filter: string): TopicMatcher {
  const startsWithWildcard = filter.startsWith('#') || filter.startsWith('+')
  const guard = (match: TopicMatcher): TopicMatcher => (startsWithWildcard ? (topic) => topic.charCodeAt(0) !== 36 && match(topic) : match)
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter
  if (filter === '#') return guard(() => true)
  if (!filter.includes('+')) {
    // `a/b/#` matches `a/b` (the parent level, section 4.7.1.2) and everything below `a/b/`.
    const parent = filter.slice(0, -2)
    const prefix = filter.slice(0, -1)
    return (topic) => topic.startsWith(prefix) || topic === parent
  }
  const levels = filter.split('/')
  return guard((topic) => matchLevels(levels, topic.split('/')))
}

function matchLevels(filter: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    const level = filter[i]
    if (level === '#') return true
    if (i >= topic.length) return false
    if (level !== '+' && level !== topic[i]) return false
  }
  return filter.length === topic.length
}

/**
 * True when every topic `inner` can match is also matched by `outer`: a
 * subscription to `inner` is covered by a read grant on `outer`. `#` in
 * `inner` is covered only by `#` in `outer`; `+` only by `+` or `#`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  if (inner.charCodeAt(0) === 36 && (outer.startsWith('#') || outer.startsWith('+'))) return false
  const o = outer.split('/')
  const n = inner.split('/')
  for (let i = 0; i < o.length; i++) {
    const level = o[i]
    if (level === '#') return true
    if (i >= n.length) return false
    const sub = n[i]
    if (sub === '#') return false
    if (sub === '+' && level !== '+') return false
    if (level !== '+' && level !== sub) return false
  }
  // `outer` is exhausted: `inner` must be too (`a/#` also matches `a`, but `a` does not cover `a/#`).
  return o.length === n.length
}
