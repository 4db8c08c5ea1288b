import cron from 'node-cron'
import type { ConfigProblem } from '../config-crdt/layers.js'
import { CloudosError } from '../errors.js'
import { compileRules } from '../rules/compiled-rule.js'
import type { RulesConfig } from './edge-config-schema.js'

/** Checks the schema cannot express, run on every candidate config (file, documents, live updates). */
export function extraConfigChecks(config: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const candidate = config as { storage?: { retentionSchedule?: unknown }; rules?: RulesConfig }
  const schedule = candidate.storage?.retentionSchedule
  if (typeof schedule === 'string' && !cron.validate(schedule)) {
    problems.push({ key: 'storage.retentionSchedule', code: 'CONFIG_ERR_INVALID_VALUE', reason: `"storage.retentionSchedule" must be a cron expression such as "*/5 * * * *" (got ${JSON.stringify(schedule)})` })
  }
  problems.push(...tlsListenerChecks((config as { mqtt?: { tls?: TlsCandidate } }).mqtt?.tls))
  if (candidate.rules !== undefined) {
    try {
      // A rule the schema accepts may still be inconsistent (no condition, clear level on the wrong side).
      compileRules(candidate.rules)
    } catch (err) {
      if (!(err instanceof CloudosError)) throw err
      problems.push({ key: typeof err.details?.key === 'string' ? err.details.key : 'rules', code: err.code, reason: err.message })
    }
  }
  return problems
}

interface TlsCandidate {
  certFile?: unknown
  keyFile?: unknown
  caFile?: unknown
  requireClientCert?: unknown
}

/** The TLS listener needs its key with its certificate, and a CA to check the client certificates it requires. */
function tlsListenerChecks(tls: TlsCandidate | undefined): ConfigProblem[] {
  if (tls === undefined) return []
  const problems: ConfigProblem[] = []
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    problems.push({ key: 'mqtt.tls.keyFile', code: 'CONFIG_ERR_INVALID_VALUE', reason: '"mqtt.tls.certFile" and "mqtt.tls.keyFile" go together: set both (cloudos edge tls init prints them) or neither' })
  }
  if (tls.requireClientCert === true && tls.caFile === undefined) {
    problems.push({ key: 'mqtt.tls.requireClientCert', code: 'CONFIG_ERR_INVALID_VALUE', reason: '"mqtt.tls.requireClientCert" needs "mqtt.tls.caFile": the CA that signs the client certificates' })
  }
  return problems
}
