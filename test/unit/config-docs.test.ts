import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EdgeConfigSchema, RuleActionSchema, RuleSchema } from '../../shared/config/edge-config-schema.js'

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')

describe('docs/configuration.md', () => {
  it('documents every config key with its default, and no key that does not exist', () => {
    const schemaKeys: string[] = []
    for (const [section, schema] of Object.entries(EdgeConfigSchema.properties)) {
      // Records keyed by name (rules) are documented field by field as `section.<name>.field`.
      if ((schema as { patternProperties?: unknown }).patternProperties !== undefined) continue
      for (const [key, prop] of Object.entries((schema as unknown as { properties: Record<string, { default?: unknown }> }).properties)) {
        const name = `${section}.${key}`
        schemaKeys.push(name)
        const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`))
        expect(row, name).toBeDefined()
        if (prop.default !== undefined) expect(row, name).toContain(`\`${JSON.stringify(prop.default)}\``)
      }
    }
    const documentedKeys = [...doc.matchAll(/^\| `([a-z]+\.[A-Za-z]+)` \|/gm)].map((m) => m[1])
    expect(documentedKeys.sort()).toEqual(schemaKeys.sort())
  })

  it('documents every field of a rule and of its action, with its default', () => {
    const expected: string[] = []
    const check = (prefix: string, properties: Record<string, { default?: unknown }>) => {
      for (const [key, prop] of Object.entries(properties)) {
        const name = `${prefix}${key}`
        expected.push(name)
        const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`))
        expect(row, name).toBeDefined()
        if (prop.default !== undefined) expect(row, name).toContain(`\`${JSON.stringify(prop.default)}\``)
      }
    }
    check('rules.<name>.', RuleSchema.properties as Record<string, { default?: unknown }>)
    check('rules.<name>.action.', RuleActionSchema.properties as Record<string, { default?: unknown }>)
    const documented = [...doc.matchAll(/^\| `(rules\.<name>\.[A-Za-z.]+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(expected.sort())
  })
})
