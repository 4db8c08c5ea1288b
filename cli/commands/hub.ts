import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { verifyAuditChain } from '../../cloud/audit/audit-chain.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { defaultTlsHosts, rotateServerCertificate } from '../../cloud/bootstrap/hub-tls-init.js'
import { HubIdentity } from '../../cloud/identity/hub-identity.js'
import { startHub } from '../../cloud/server.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { CloudosError } from '../../shared/errors.js'
import { portFlag } from '../flags.js'
import { registerHubComplianceCommands } from './hub-compliance.js'
import { registerHubOtaCommands } from './hub-ota.js'
import { runUntilSignal } from '../run-until-signal.js'

interface RunFlags {
  dataDir: string
  port?: number
  host?: string
  config?: string
  releaseKey?: string[]
  insecureHttp?: boolean
}

interface InitFlags {
  dataDir: string
  adminUser: string
  passwordStdin?: boolean
  json?: boolean
  tlsHost?: string[]
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
}

export function registerHubCommand(program: Command): void {
  const hub = program.command('hub').description('the fleet hub: run it, initialise it, verify its audit log')

  hub
    .command('run', { isDefault: true })
    .description('run the hub API (the default: `cloudos hub --data-dir DIR` runs it)')
    .requiredOption('--data-dir <dir>', 'an initialised hub data directory (see `cloudos hub init`)')
    .option('--port <port>', 'HTTP port (default 8080; 0 = any free port)', portFlag('--port'))
    .option('--host <host>', 'HTTP interface (default 127.0.0.1)')
    .option('--config <file>', 'JSON hub config (see docs/hub.md); flags override it')
    .option('--release-key <file...>', 'Ed25519 release public key (PEM) trusted to sign OTA bundles; repeatable, added to ota.trustedKeyFiles')
    .option('--insecure-http', 'serve plain HTTP instead of HTTPS (http.insecureHttp): only on loopback or behind a TLS proxy on this host; edges then need --insecure-http too')
    .action(async (flags: RunFlags) => {
      const config = withReleaseKeys(flags.config === undefined ? {} : readJsonConfig(flags.config), flags.releaseKey ?? [])
      const running = await startHub({
        dataDir: resolve(flags.dataDir),
        config: flags.insecureHttp ? withInsecureHttp(config) : config,
        host: flags.host,
        port: flags.port,
        // pino JSON lines on stderr: stdout carries only the ready line.
        logger: { level: process.env.CLOUDOS_LOG_LEVEL ?? 'info', stream: process.stderr },
      })
      // One machine-readable line for supervisors, tests and the demo.
      process.stdout.write(`${JSON.stringify({ event: 'hub.ready', url: running.url, docs: `${running.url}/docs`, tls: running.tls, pid: process.pid })}\n`)
      if (!running.tls) running.app.log.warn('serving plain HTTP (--insecure-http): device answers and admin tokens are not protected on the network')
      runUntilSignal(() => running.stop(), (signal) => running.app.log.info(`${signal} received: stopping`))
    })

  hub
    .command('init')
    .description('create the hub identity (Ed25519 key), its TLS CA and server certificate, and the first admin account (password + TOTP)')
    .requiredOption('--data-dir <dir>', 'directory for the hub (created if missing; must not be initialised already)')
    .option('--admin-user <name>', 'admin username', 'admin')
    .option('--password-stdin', 'read the admin password from standard input instead of generating one')
    .option('--tls-host <name...>', 'host names and IP addresses the server certificate is for (default: localhost, this host name, loopback and interface addresses)')
    .option('--tls-cert <file>', 'serve your own certificate (PEM, intermediates after it) instead of a hub-made CA; needs --tls-key and --tls-ca')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--tls-ca <file>', 'the CA that issued --tls-cert (PEM): its pin goes into every enrolment token')
    .option('--json', 'print the result as one JSON object (for scripts)')
    .action(async (flags: InitFlags) => {
      const adminPassword = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined
      const result = await initHub({ dataDir: flags.dataDir, adminUsername: flags.adminUser, adminPassword, tls: tlsChoice(flags) })
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ event: 'hub.initialised', ...result })}\n`)
        return
      }
      const lines = [
        `Hub initialised in ${result.dataDir}`,
        `  hub id:         ${result.hubId}`,
        `  admin user:     ${result.adminUsername}`,
        `  hub CA pin:     ${result.caPin}   (${result.ownCa ? 'a CA made for this hub: tls/hub-ca.pem' : 'your CA'}; every enrolment token carries it)`,
        result.generatedPassword === undefined
          ? '  admin password: (the one given on standard input)'
          : `  admin password: ${result.generatedPassword}`,
        '  TOTP second factor: add this URI to an authenticator app (or make a QR code of it):',
        `    ${result.otpauthUri}`,
        '',
        'The password and the TOTP URI are shown only this once: the hub keeps only a hash of the password.',
        '',
        'Next:',
        `  1. Start the hub:   cloudos hub --data-dir ${result.dataDir} --port 8080`,
        '  2. Log in:          POST /v1/auth/login {"username", "password", "totp"} returns a bearer token',
        '  3. API reference:   https://127.0.0.1:8080/docs   (curl --cacert tls/hub-ca.pem; admin commands take --ca or --hub-data-dir)',
        `  4. Back up ${result.dataDir}/hub-key.pem and ${result.dataDir}/tls/ (keys mode 0600): the hub identity, which signs the audit log, and the TLS CA edges pin.`,
        `  Check the audit log at any time: cloudos hub audit verify --data-dir ${result.dataDir}`,
      ]
      process.stdout.write(`${lines.join('\n')}\n`)
    })

  registerHubOtaCommands(hub)
  registerHubComplianceCommands(hub)

  hub
    .command('tls')
    .description('the hub\'s HTTPS identity')
    .command('rotate')
    .description('issue a new server certificate under the hub CA (same pin: enrolled edges need no change); restart the hub to serve it')
    .requiredOption('--data-dir <dir>', 'the hub data directory')
    .option('--tls-host <name...>', 'host names and IP addresses for the new certificate (default: localhost, this host name, loopback and interface addresses)')
    .action(async (flags: { dataDir: string; tlsHost?: string[] }) => {
      const result = await rotateServerCertificate(resolve(flags.dataDir), flags.tlsHost ?? defaultTlsHosts())
      process.stdout.write(`new server certificate for ${result.hosts.join(', ')}; CA pin unchanged: ${result.caPin}. Restart the hub to serve it.\n`)
    })

  hub
    .command('audit')
    .description('audit log tools')
    .command('verify')
    .description('recompute the audit hash chain and check the signed head; exits non-zero on the first problem')
    .requiredOption('--data-dir <dir>', 'the hub data directory')
    .action(async (flags: { dataDir: string }) => {
      const dataDir = resolve(flags.dataDir)
      // The public key is enough to verify: no secret is read.
      const identity = HubIdentity.load(dataDir, { withPrivateKey: false })
      const store = SqliteHubStore.open(dataDir)
      try {
        const result = verifyAuditChain(await store.audit.all(), await store.audit.head(), (m, s) => identity.verify(m, s))
        if (!result.ok) {
          throw new CloudosError('HUB_ERR_AUDIT_TAMPERED', `audit log ${result.problem.kind} at entry ${result.problem.seq}: ${result.problem.message}`, { ...result.problem })
        }
        process.stdout.write(`audit log OK: ${result.entries} entries, chain intact, head (entry ${result.headSeq}) signed by ${identity.hubId}\n`)
      } finally {
        await store.close()
      }
    })
}

/** `hub init`'s TLS: the operator's three files, or a hub-made CA for the given (or default) hosts. */
function tlsChoice(flags: InitFlags): { hosts?: string[] } | { certFile: string; keyFile: string; caFile: string } {
  const given = [flags.tlsCert, flags.tlsKey, flags.tlsCa].filter((f) => f !== undefined).length
  if (given === 0) return flags.tlsHost === undefined ? {} : { hosts: flags.tlsHost }
  if (given !== 3) throw new CloudosError('CLI_ERR_INVALID_FLAG', '--tls-cert, --tls-key and --tls-ca go together: the certificate, its key and the CA that issued it')
  return { certFile: resolve(flags.tlsCert as string), keyFile: resolve(flags.tlsKey as string), caFile: resolve(flags.tlsCa as string) }
}

/** Sets http.insecureHttp (a malformed config is left for the schema to report). */
function withInsecureHttp(config: unknown): unknown {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return config
  const record = config as Record<string, unknown>
  const http = typeof record.http === 'object' && record.http !== null ? (record.http as Record<string, unknown>) : {}
  return { ...record, http: { ...http, insecureHttp: true } }
}

/** Adds --release-key files to ota.trustedKeyFiles (a malformed config is left for the schema to report). */
function withReleaseKeys(config: unknown, files: readonly string[]): unknown {
  if (files.length === 0 || typeof config !== 'object' || config === null || Array.isArray(config)) return config
  const record = config as Record<string, unknown>
  const ota = typeof record.ota === 'object' && record.ota !== null && !Array.isArray(record.ota) ? (record.ota as Record<string, unknown>) : {}
  const configured = Array.isArray(ota.trustedKeyFiles) ? (ota.trustedKeyFiles as unknown[]) : []
  return { ...record, ota: { ...ota, trustedKeyFiles: [...configured, ...files.map((f) => resolve(f))] } }
}

function readJsonConfig(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CloudosError('CONFIG_ERR_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new CloudosError('CONFIG_ERR_PARSE', `${path}: ${(err as Error).message}`)
  }
}
