import { InvalidArgumentError, type Command } from 'commander'
import { CloudosError } from '../../shared/errors.js'
import { integerFlag, numberFlag, urlFlag } from '../flags.js'
import { CA_FLAG_HELP, HUB_DATA_DIR_FLAG_HELP, readHubCa, type HubCaFlags } from '../hub-ca.js'

export interface ConnectionFlags extends HubCaFlags {
  hub?: string
  token?: string
  json?: boolean
}

interface RolloutCreateFlags extends ConnectionFlags {
  release: string
  group?: string
  label: string[]
  waves: number[]
  healthyAfter?: number
  maxFailureRate?: number
  waveTimeout?: number
  allowDowngrade?: boolean
}

function labelFlag(value: string, previous: string[] = []): string[] {
  if (!/^[A-Za-z0-9._/-]{1,64}=[^=]{0,128}$/.test(value)) throw new InvalidArgumentError(`--label: "${value}" is not key=value.`)
  return [...previous, value]
}

function wavesFlag(value: string): number[] {
  const waves = value.split(',').map((p) => Number(p.trim()))
  if (waves.some((p) => !(p > 0 && p <= 100))) throw new InvalidArgumentError(`--waves: "${value}" is not a list of cumulative percentages, e.g. 5,25,100.`)
  return waves
}

/** Lazily loaded: the hub client is only needed by these commands. */
export async function clientOf(flags: ConnectionFlags) {
  const { HubAdminClient } = await import('../hub-admin-client.js')
  const hub = flags.hub ?? process.env.CLOUDOS_HUB_URL
  const token = flags.token ?? process.env.CLOUDOS_HUB_TOKEN
  if (hub === undefined) throw new CloudosError('CLI_ERR_INVALID_FLAG', 'give the hub URL with --hub URL (or CLOUDOS_HUB_URL)')
  if (token === undefined) throw new CloudosError('CLI_ERR_INVALID_FLAG', 'give an admin bearer token (POST /v1/auth/login) with --token or CLOUDOS_HUB_TOKEN')
  return new HubAdminClient(hub, token, readHubCa(flags))
}

const print = (flags: ConnectionFlags, value: unknown, text: (value: any) => string) =>
  process.stdout.write(flags.json === true ? `${JSON.stringify(value, null, 2)}\n` : `${text(value)}\n`)

export const withConnection = (command: Command) =>
  command
    .option('--hub <url>', 'hub URL (or CLOUDOS_HUB_URL)', urlFlag('--hub', ['http:', 'https:']))
    .option('--token <token>', 'admin bearer token from POST /v1/auth/login (or CLOUDOS_HUB_TOKEN)')
    .option('--ca <file>', CA_FLAG_HELP)
    .option('--hub-data-dir <dir>', HUB_DATA_DIR_FLAG_HELP)
    .option('--json', 'print the hub\'s JSON answer')

const rolloutLine = (r: any) =>
  `${r.id} ${r.state}${r.reason === null ? '' : ` (${r.reason})`}: release ${r.releaseId}, ${r.devices} devices, ` +
  `wave ${r.currentWave + 1}/${r.waves.length}; ${Object.entries(r.states as Record<string, number>).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ')}\n` +
  (r.waves as any[]).map((w) => `  wave ${w.index + 1} ${String(w.percent).padStart(3)}% ${w.state.padEnd(8)} ${w.deviceCount} devices, failure rate ${(w.failureRate * 100).toFixed(1)}%`).join('\n')

/** `cloudos hub release upload|list` and `cloudos hub rollout create|status|pause|resume|abort`, over the hub API. */
export function registerHubOtaCommands(hub: Command): void {
  const release = hub.command('release').description('OTA releases on a running hub (admin token)')
  withConnection(release.command('upload <bundle>').description('upload a signed bundle (streamed); the hub verifies and stores it')).action(async (file: string, flags: ConnectionFlags) => {
    const created = await (await clientOf(flags)).upload<any>(file)
    print(flags, created, (r) => `release ${r.id}: ${r.name} ${r.version} (${r.kind}), ${r.bundleBytes} bytes, sha256 ${r.bundleSha256}, signed by ${r.signingKeyId}`)
  })
  withConnection(release.command('list').description('stored releases, newest first')).action(async (flags: ConnectionFlags) => {
    const listed = await (await clientOf(flags)).json<any>('GET', '/v1/releases')
    print(flags, listed, (l) => (l.releases as any[]).map((r) => `${r.id} ${r.name} ${r.version} ${r.kind} ${r.bundleBytes} bytes ${r.uploadedAt}`).join('\n') || 'no releases')
  })

  const rollout = hub.command('rollout').description('OTA rollouts on a running hub (admin token)')
  withConnection(
    rollout
      .command('create')
      .description('roll a release out to a group and/or labelled devices in waves')
      .requiredOption('--release <id>', 'release id (cloudos hub release list)')
      .option('--group <group>', 'target group')
      .option('--label <key=value>', 'target label (repeatable; all must match)', labelFlag, [])
      .option('--waves <percentages>', 'cumulative percentages, e.g. 5,25,100', wavesFlag, [100])
      .option('--healthy-after <seconds>', 'success criterion per wave (default ota.healthyAfterSeconds)', integerFlag('--healthy-after', 0, 7 * 86_400))
      .option('--max-failure-rate <rate>', 'halt rule per wave, 0-1 (default ota.maxFailureRate)', numberFlag('--max-failure-rate', 0, 1))
      .option('--wave-timeout <seconds>', 'per wave (default ota.waveTimeoutSeconds)', integerFlag('--wave-timeout', 1, 30 * 86_400))
      .option('--allow-downgrade', 'let devices install it over a higher version'),
  ).action(async (flags: RolloutCreateFlags) => {
    const labels = Object.fromEntries(flags.label.map((l) => l.split('=') as [string, string]))
    const body = {
      releaseId: flags.release,
      target: { ...(flags.group === undefined ? {} : { group: flags.group }), ...(flags.label.length === 0 ? {} : { labels }) },
      waves: flags.waves.map((percent) => ({
        percent,
        ...(flags.healthyAfter === undefined ? {} : { healthyAfterSeconds: flags.healthyAfter }),
        ...(flags.maxFailureRate === undefined ? {} : { maxFailureRate: flags.maxFailureRate }),
        ...(flags.waveTimeout === undefined ? {} : { timeoutSeconds: flags.waveTimeout }),
      })),
      allowDowngrade: flags.allowDowngrade === true,
    }
    print(flags, await (await clientOf(flags)).json<any>('POST', '/v1/rollouts', body), rolloutLine)
  })
  withConnection(rollout.command('status <id>').description('state, counts per device state and per wave')).action(async (id: string, flags: ConnectionFlags) => {
    print(flags, await (await clientOf(flags)).json<any>('GET', `/v1/rollouts/${encodeURIComponent(id)}`), rolloutLine)
  })
  for (const action of ['pause', 'resume', 'abort'] as const) {
    const command = withConnection(rollout.command(`${action} <id>`).description(`${action} a rollout`))
    if (action === 'abort') command.option('--reason <text>', 'why (kept in the rollout and the audit log)')
    command.action(async (id: string, flags: ConnectionFlags & { reason?: string }) => {
      const body = action === 'abort' && flags.reason !== undefined ? { reason: flags.reason } : undefined
      print(flags, await (await clientOf(flags)).json<any>('POST', `/v1/rollouts/${encodeURIComponent(id)}/${action}`, body), rolloutLine)
    })
  }
}
