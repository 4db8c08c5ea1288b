import * as Automerge from '@automerge/automerge'
import type { TSchema } from '@sinclair/typebox'
import { CloudosError } from '../errors.js'
import { checkAssignment, resolveKey } from './config-keys.js'

/**
 * A config layer as an Automerge document: a flat map from dotted key
 * (`rules.temp.max`) to its JSON-encoded value, stored as an immutable
 * string so a value is replaced whole, never merged character by character.
 *
 * Flat on purpose: with nested maps, two replicas that each create
 * `rules.temp` concurrently create two different map objects and Automerge
 * keeps one of them, losing the other's keys. With one register per leaf,
 * concurrent edits of different keys always both survive, and concurrent
 * edits of the same key are a conflict on one register, which Automerge
 * resolves the same way on every replica (the operation with the higher
 * Lamport counter wins; on a tie, the higher actor id).
 */
export type ConfigDoc = Record<string, Automerge.ImmutableString>

/** One edit: keys to set (an object value at a section sets each of its keys) and keys to remove. */
export interface ConfigEdit {
  set?: Record<string, unknown>
  unset?: string[]
}

/** Who made a change, from where: kept in the Automerge change message. */
export interface ChangeMeta {
  /** `user:<name>` at the hub, or whoever the technician says at the edge. */
  user: string
  /** `hub` or `edge:<deviceId>`. */
  origin: string
}

/** What a change message holds (JSON). */
export interface ChangeRecord extends ChangeMeta {
  at: number
  set: Record<string, unknown>
  unset: string[]
}

export interface HistoryEntry extends ChangeRecord {
  hash: string
  actor: string
  seq: number
  deps: string[]
}

export function newConfigDoc(actor?: string): Automerge.Doc<ConfigDoc> {
  return Automerge.init<ConfigDoc>(actor === undefined ? undefined : { actor })
}

/**
 * Checks an edit against the schema (every key known, every value of its
 * type; CONFIG_ERR_* otherwise) and expands it into leaf assignments and
 * removals. Nothing is changed when it throws.
 */
export function checkEdit(schema: TSchema, edit: ConfigEdit): { set: Record<string, unknown>; unset: string[] } {
  const set: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(edit.set ?? {})) Object.assign(set, checkAssignment(schema, key, value))
  const unset: string[] = []
  for (const key of edit.unset ?? []) {
    resolveKey(schema, key)
    if (Object.hasOwn(set, key)) throw new CloudosError('CONFIG_ERR_INVALID_VALUE', `"${key}" is both set and unset in one edit`, { key })
    unset.push(key)
  }
  if (Object.keys(set).length === 0 && unset.length === 0) throw new CloudosError('CONFIG_ERR_EMPTY_EDIT', 'the edit sets and unsets nothing')
  return { set, unset }
}

/**
 * Applies a checked edit as one Automerge change carrying `meta`. Setting a
 * key removes the keys beneath it (a section replaced by a value); unsetting
 * a key removes it and every key beneath it. Returns the same document when
 * nothing would change (no empty changes in the history).
 */
export function applyEdit(doc: Automerge.Doc<ConfigDoc>, schema: TSchema, edit: ConfigEdit, meta: ChangeMeta, now = Date.now()): Automerge.Doc<ConfigDoc> {
  const checked = checkEdit(schema, edit)
  const keys = Object.keys(doc)
  const removals = new Set<string>()
  const beneath = (key: string) => keys.filter((k) => k.startsWith(`${key}.`))
  for (const key of checked.unset) {
    if (Object.hasOwn(doc, key)) removals.add(key)
    for (const k of beneath(key)) removals.add(k)
  }
  for (const key of Object.keys(checked.set)) for (const k of beneath(key)) removals.add(k)
  // Only what changes is written: setting a key to the value it has adds no change.
  const assignments = Object.entries(checked.set).filter(([key, value]) => !Object.hasOwn(doc, key) || String(doc[key]) !== JSON.stringify(value))
  if (assignments.length === 0 && removals.size === 0) return doc
  const record: ChangeRecord = { ...meta, at: now, set: Object.fromEntries(assignments), unset: [...removals].sort() }
  return Automerge.change(doc, { message: JSON.stringify(record), time: Math.floor(now / 1000) }, (d) => {
    for (const key of removals) delete d[key]
    for (const [key, value] of assignments) d[key] = new Automerge.ImmutableString(JSON.stringify(value))
  })
}

export interface DocumentValues {
  /** `{dotted.key: value}` for every readable entry. */
  values: Record<string, unknown>
  /** Entries a peer wrote that are not JSON in an immutable string: ignored, reported. */
  unreadable: string[]
}

export function documentValues(doc: Automerge.Doc<ConfigDoc>): DocumentValues {
  const values: Record<string, unknown> = {}
  const unreadable: string[] = []
  for (const [key, raw] of Object.entries(doc)) {
    if (!Automerge.isImmutableString(raw)) {
      unreadable.push(key)
      continue
    }
    try {
      values[key] = JSON.parse(raw.toString())
    } catch {
      unreadable.push(key)
    }
  }
  return { values, unreadable }
}

/** The document's changes, oldest first (causal order), with who/when/where and what each set or unset. */
export function documentHistory(doc: Automerge.Doc<ConfigDoc>): HistoryEntry[] {
  return Automerge.getAllChanges(doc).map((bytes) => {
    const change = Automerge.decodeChange(bytes)
    let record: Partial<ChangeRecord> = {}
    try {
      record = JSON.parse(change.message ?? '{}') as Partial<ChangeRecord>
    } catch {
      record = {}
    }
    return {
      hash: change.hash as string,
      actor: change.actor,
      seq: change.seq,
      deps: change.deps,
      user: typeof record.user === 'string' ? record.user : 'unknown',
      origin: typeof record.origin === 'string' ? record.origin : 'unknown',
      at: typeof record.at === 'number' ? record.at : change.time * 1000,
      set: record.set ?? {},
      unset: record.unset ?? [],
    }
  })
}

/** Sorted heads: equal arrays mean identical documents. */
export function headsOf(doc: Automerge.Doc<unknown>): string[] {
  return [...Automerge.getHeads(doc)].sort()
}

export const sameHeads = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((h, i) => h === [...b].sort()[i])

/** Loads saved document bytes; CONFIG_ERR_DOCUMENT_CORRUPT when they do not decode. */
export function loadConfigDoc(bytes: Uint8Array, actor?: string): Automerge.Doc<ConfigDoc> {
  try {
    return Automerge.load<ConfigDoc>(bytes, actor === undefined ? undefined : { actor })
  } catch (err) {
    throw new CloudosError('CONFIG_ERR_DOCUMENT_CORRUPT', `a stored config document does not decode: ${(err as Error).message}`)
  }
}
