import type { Command } from 'commander'
import { CloudosError } from '../../shared/errors.js'
import { urlFlag } from '../flags.js'
import { adminFetch, CA_FLAG_HELP, HUB_DATA_DIR_FLAG_HELP, readHubCa, type HubCaFlags } from '../hub-ca.js'

interface TargetFlags extends HubCaFlags {
  hub?: string
  token?: string
  edge?: string
  dataDir?: string
  group?: string
  device?: string
  user?: string
  json?: boolean
}

interface Target {
  base: string
  path: string
  historyPath: string
  headers: Record<string, string>
  where: string
  /** The hub CA to trust (hub targets with --ca / --hub-data-dir). */
  caPem?: string | undefined
}

/**
 * `cloudos config set|unset|get|history`: edits and reads config documents,
 * at the hub (`--hub URL --token T`, or CLOUDOS_HUB_URL / CLOUDOS_HUB_TOKEN,
 * with `--group G` or `--device D`) or on site at an edge's local API
 * (`--edge http://127.0.0.1:8081`, which edits that edge's device document and
 * works while the edge is offline; `--data-dir DIR` gives the edge's data dir,
 * where the CLI reads the local API's bearer token).
 */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('edit and read config documents (CRDT) at the hub or on site at an edge (see docs/configuration.md)')
  const withTarget = (command: Command) =>
    command
      .option('--hub <url>', 'hub base URL (default $CLOUDOS_HUB_URL)', urlFlag('--hub', ['http:', 'https:']))
      .option('--token <token>', 'operator bearer token from POST /v1/auth/login (default $CLOUDOS_HUB_TOKEN)')
      .option('--ca <file>', CA_FLAG_HELP)
      .option('--hub-data-dir <dir>', HUB_DATA_DIR_FLAG_HELP)
      .option('--group <group>', 'the group document (at the hub)')
      .option('--device <deviceId>', 'the device document (at the hub)')
      .option('--edge <url>', "an edge's local API, e.g. http://127.0.0.1:8081 (its device document)", urlFlag('--edge', ['http:', 'https:']))
      .option('--data-dir <dir>', "with --edge: the edge's data dir, holding the local API token (file api-token) that edits need")
      .option('--json', 'print the answer as JSON')

  withTarget(config.command('set').description('set keys: key=value ... (value is JSON, or text)').argument('<assignments...>', 'key=value pairs, e.g. rules.temp.max=80'))
    .option('--user <name>', 'who is editing (edge only; at the hub the token says who)')
    .action(async (assignments: string[], flags: TargetFlags) => {
      const { EdgeConfigSchema } = await import('../../shared/config/edge-config-schema.js')
      const { parseAssignmentText } = await import('../../shared/config-crdt/config-keys.js')
      const set: Record<string, unknown> = {}
      for (const text of assignments) {
        const { key, value } = parseAssignmentText(EdgeConfigSchema, text)
        set[key] = value
      }
      await edit(flags, { set })
    })

  withTarget(config.command('unset').description('remove keys from the document: the layer below shows through').argument('<keys...>', 'dotted keys'))
    .option('--user <name>', 'who is editing (edge only)')
    .action(async (keys: string[], flags: TargetFlags) => edit(flags, { unset: keys }))

  withTarget(config.command('get').description('show a document (values, heads, desired vs reported state)'))
    .option('--effective', 'the merged config: defaults < group < device at the hub; defaults < file < group < device at an edge')
    .action(async (flags: TargetFlags & { effective?: boolean }) => {
      const target = await resolveTarget(flags)
      const body = await call('GET', `${target.base}${target.path}${flags.effective && !flags.edge ? '?effective=1' : ''}`, target.headers, undefined, target.caPem)
      if (flags.json) return print(body)
      const b = body as Record<string, unknown>
      const shown = flags.effective ? (b.effective ?? { problems: b.problems }) : (b.values ?? (b.layers as Record<string, unknown> | undefined)?.device)
      process.stdout.write(`${target.where}\n${JSON.stringify(shown, null, 2)}\n`)
      const twin = (b.twin ?? b) as { inSync?: boolean; errors?: unknown[]; pendingRestart?: string[]; status?: string }
      if (twin.inSync !== undefined) process.stdout.write(`in sync: ${String(twin.inSync)}\n`)
      if (twin.status !== undefined) process.stdout.write(`status: ${twin.status}\n`)
      if ((twin.errors?.length ?? 0) > 0) process.stdout.write(`errors: ${JSON.stringify(twin.errors)}\n`)
      if ((twin.pendingRestart?.length ?? 0) > 0) process.stdout.write(`waiting for a restart: ${(twin.pendingRestart ?? []).join(', ')}\n`)
    })

  withTarget(config.command('history').description('who changed what, when, from where (newest first)'))
    .option('--limit <n>', 'changes shown', '50')
    .action(async (flags: TargetFlags & { limit: string }) => {
      const target = await resolveTarget(flags)
      const body = (await call('GET', `${target.base}${target.historyPath}?limit=${encodeURIComponent(flags.limit)}`, target.headers, undefined, target.caPem)) as {
        changes: { at: string; user: string; origin: string; set: Record<string, unknown>; unset: string[]; hash: string }[]
      }
      if (flags.json) return print(body)
      for (const c of body.changes) {
        const what = [...Object.entries(c.set).map(([k, v]) => `${k}=${JSON.stringify(v)}`), ...c.unset.map((k) => `unset ${k}`)].join(', ')
        process.stdout.write(`${c.at}  ${c.user.padEnd(20)} ${c.origin.padEnd(24)} ${what}  (${c.hash.slice(0, 8)})\n`)
      }
    })
}

async function resolveTarget(flags: TargetFlags): Promise<Target> {
  if (flags.edge !== undefined) {
    if (flags.group !== undefined || flags.device !== undefined) throw new CloudosError('CLI_ERR_INVALID_FLAG', '--edge edits that edge\'s own device document: leave out --group and --device')
    let headers: Record<string, string> = {}
    if (flags.dataDir !== undefined) {
      const { readApiToken } = await import('../../edge/api/auth/api-token.js')
      headers = { authorization: `Bearer ${readApiToken(flags.dataDir)}` }
    }
    return { base: flags.edge.replace(/\/$/, ''), path: '/v1/config', historyPath: '/v1/config/history', headers, where: `edge ${flags.edge}` }
  }
  if (flags.dataDir !== undefined) throw new CloudosError('CLI_ERR_INVALID_FLAG', '--data-dir goes with --edge (the edge whose token to use)')
  const hub = flags.hub ?? process.env.CLOUDOS_HUB_URL
  const token = flags.token ?? process.env.CLOUDOS_HUB_TOKEN
  if (hub === undefined || token === undefined) throw new CloudosError('CLI_ERR_INVALID_FLAG', 'name the hub and an operator token (--hub URL --token T, or CLOUDOS_HUB_URL and CLOUDOS_HUB_TOKEN), or an edge with --edge URL')
  if ((flags.group === undefined) === (flags.device === undefined)) throw new CloudosError('CLI_ERR_INVALID_FLAG', 'name exactly one document: --group G or --device D')
  const path = flags.group !== undefined ? `/v1/config/groups/${encodeURIComponent(flags.group)}` : `/v1/config/devices/${encodeURIComponent(flags.device as string)}`
  return { base: hub.replace(/\/$/, ''), path, historyPath: `${path}/history`, headers: { authorization: `Bearer ${token}` }, where: flags.group !== undefined ? `group ${flags.group}` : `device ${flags.device}`, caPem: readHubCa(flags) }
}

async function edit(flags: TargetFlags, body: { set?: Record<string, unknown>; unset?: string[] }): Promise<void> {
  const target = await resolveTarget(flags)
  const answer = (await call('PATCH', `${target.base}${target.path}`, target.headers, flags.edge !== undefined && flags.user !== undefined ? { ...body, user: flags.user } : body, target.caPem)) as {
    heads?: string[]
    appliedHeads?: unknown
    refused?: { key: string; reason: string }[]
  }
  if (flags.json) return print(answer)
  process.stdout.write(`${target.where}: changed (heads ${JSON.stringify(answer.heads ?? (answer as { currentHeads?: unknown }).currentHeads)})\n`)
  for (const r of answer.refused ?? []) process.stderr.write(`refused: ${r.key}: CONFIG_ERR_DEVICE_LOCAL_KEY: ${r.reason}\n`)
}

async function call(method: string, url: string, headers: Record<string, string>, body?: unknown, caPem?: string): Promise<unknown> {
  let response: Response
  const send = await adminFetch(caPem)
  try {
    response = await send(url, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    })
  } catch (err) {
    throw new CloudosError('CONFIG_ERR_REQUEST_FAILED', `${method} ${url}: ${(err as Error).message}`)
  }
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON: shown as text
  }
  if (!response.ok) {
    const error = parsed as { code?: string; message?: string }
    if (typeof error.code === 'string' && error.code.startsWith('CONFIG_ERR_')) throw new CloudosError(error.code as 'CONFIG_ERR_UNKNOWN_KEY', error.message)
    if (error.code === 'API_ERR_UNAUTHORIZED') throw new CloudosError('API_ERR_UNAUTHORIZED', `${method} ${url}: ${error.message ?? 'no valid token'}; with --edge, pass --data-dir DIR (the edge's data dir holds its token)`)
    throw new CloudosError('CONFIG_ERR_REQUEST_FAILED', `${method} ${url} answered ${response.status}${error.code ? ` ${error.code}` : ''}: ${error.message ?? String(text).slice(0, 200)}`)
  }
  return parsed
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
