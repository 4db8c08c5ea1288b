/**
 * Sensor and metric patterns of the rules: `*` matches any run of characters
 * (possibly empty), `?` exactly one; everything else matches itself. Compiled
 * once per rule, so matching a new series costs one test per rule, and a
 * series' matching rules are cached after that (see RulesEngine).
 */
export type GlobMatcher = (text: string) => boolean

export function compileGlob(pattern: string): GlobMatcher {
  if (pattern === '*') return () => true
  if (!/[*?]/.test(pattern)) return (text) => text === pattern
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.\\^$+{}()[\]|/-]/g, '\\$&')))
    .join('')
  const regex = new RegExp(`^${source}$`)
  return (text) => regex.test(text)
}
