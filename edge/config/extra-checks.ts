import cron from 'node-cron'
import type { ConfigProblem } from '../../shared/config-crdt/layers.js'

/** Checks the schema cannot express, run on every candidate config (file, documents, live updates). */
export function extraConfigChecks(config: unknown): ConfigProblem[] {
  const schedule = (config as { storage?: { retentionSchedule?: unknown } }).storage?.retentionSchedule
  if (typeof schedule === 'string' && !cron.validate(schedule)) {
    return [{ key: 'storage.retentionSchedule', code: 'CONFIG_ERR_INVALID_VALUE', reason: `"storage.retentionSchedule" must be a cron expression such as "*/5 * * * *" (got ${JSON.stringify(schedule)})` }]
  }
  return []
}
