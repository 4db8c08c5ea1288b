import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'

/** Compiled once per answer schema: an exchange's check runs on every answer. */
const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()

const MAX_PROBLEMS = 3

/**
 * Checks a hub answer against its shared schema (shared/protocol). Returns
 * undefined when it matches, else a short list of what does not (JSON
 * pointer and TypeBox's words), for the EDGE_ERR_HUB_ANSWER_INVALID message.
 */
export function checkAnswer(schema: TSchema, answer: unknown): string | undefined {
  let check = compiled.get(schema)
  if (check === undefined) {
    check = TypeCompiler.Compile(schema)
    compiled.set(schema, check)
  }
  if (check.Check(answer)) return undefined
  const problems: string[] = []
  for (const error of check.Errors(answer)) {
    problems.push(`${error.path || '/'} ${error.message}`)
    if (problems.length === MAX_PROBLEMS) break
  }
  return problems.length === 0 ? 'not the expected shape' : problems.join('; ')
}
