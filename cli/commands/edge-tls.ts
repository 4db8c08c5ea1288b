import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { CloudosError } from '../../shared/errors.js'
import { caPin, createCertificateAuthority, issueClientCertificate, issueServerCertificate, type CertifiedKey } from '../../shared/pki/local-ca.js'

interface TlsInitFlags {
  dataDir: string
  host?: string[]
  client?: string[]
  force?: boolean
}

/** Where `cloudos edge tls init` keeps the site's TLS files, under the edge's data dir. */
export function tlsPaths(dataDir: string) {
  const dir = join(resolve(dataDir), 'tls')
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: (name: string) => join(dir, 'clients', `${name}.crt`),
    clientKey: (name: string) => join(dir, 'clients', `${name}.key`),
  }
}

/** A client name becomes a certificate's CN (the MQTT user name under mTLS) and a file name. */
const CLIENT_NAME = /^[A-Za-z0-9_.-]{1,64}$/

/**
 * `cloudos edge tls init`: a local CA for the site and a server certificate
 * for the broker's TLS listener (shared/pki/local-ca.ts), and client
 * certificates for mTLS. Run again, it keeps the CA (clients already trust
 * it) and issues what was asked: a new server certificate only with --host
 * or --force, a certificate per --client.
 */
export function registerEdgeTlsCommand(edge: Command): void {
  const tls = edge.command('tls').description('TLS for the embedded broker: a local CA, the server certificate, client certificates')
  tls
    .command('init')
    .description('create the site CA and the broker\'s server certificate in DATA_DIR/tls (keys 0600), and client certificates with --client')
    .requiredOption('--data-dir <dir>', 'the edge\'s data directory (files go to DIR/tls)')
    .option('--host <name...>', 'host names and IP addresses clients connect to (subjectAltName); default: this host\'s name, localhost, 127.0.0.1')
    .option('--client <name...>', 'issue a client certificate for mTLS; NAME is its CN, the MQTT user name')
    .option('--force', 'issue a new server certificate even if one exists')
    .action(async (flags: TlsInitFlags) => {
      const paths = tlsPaths(flags.dataDir)
      for (const name of flags.client ?? []) {
        if (!CLIENT_NAME.test(name)) throw new CloudosError('CLI_ERR_INVALID_FLAG', `--client "${name}": a client name is 1 to 64 letters, digits, "_", "." or "-"`)
      }
      mkdirSync(join(paths.dir, 'clients'), { recursive: true, mode: 0o700 })
      chmodSync(paths.dir, 0o700)
      const out: string[] = []
      let ca: CertifiedKey
      if (existsSync(paths.caCert) && existsSync(paths.caKey)) {
        ca = { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') }
        out.push(`kept the site CA ${paths.caCert}`)
      } else {
        ca = await createCertificateAuthority({ commonName: `CloudOS Lite site CA ${hostname()}`.slice(0, 64) })
        writePair(paths.caCert, paths.caKey, ca)
        out.push(`created the site CA ${paths.caCert} (key ${paths.caKey}, 0600: keep it off other machines)`)
      }
      if (!existsSync(paths.serverCert) || flags.host !== undefined || flags.force === true) {
        const hosts = flags.host ?? [hostname(), 'localhost', '127.0.0.1']
        writePair(paths.serverCert, paths.serverKey, await issueServerCertificate(ca, { commonName: hosts[0]!.slice(0, 64), hosts }))
        out.push(`issued the broker's server certificate ${paths.serverCert} for ${hosts.join(', ')}`)
      } else {
        out.push(`kept the server certificate ${paths.serverCert} (--host or --force issue a new one)`)
      }
      for (const name of flags.client ?? []) {
        writePair(paths.clientCert(name), paths.clientKey(name), await issueClientCertificate(ca, { commonName: name }))
        out.push(`issued the client certificate ${paths.clientCert(name)} (key ${paths.clientKey(name)}) for user "${name}"`)
      }
      const config = { mqtt: { tls: { certFile: paths.serverCert, keyFile: paths.serverKey, port: 8883 } } }
      const mtls = { mqtt: { tls: { ...config.mqtt.tls, caFile: paths.caCert, requireClientCert: true } } }
      process.stdout.write(
        [
          ...out,
          '',
          'Add to the edge config file (--config) to open the TLS listener on port 8883:',
          JSON.stringify(config, null, 2),
          'or, to accept only clients with a certificate from this CA (mTLS):',
          JSON.stringify(mtls, null, 2),
          '',
          `Clients verify the broker with the CA certificate: ${paths.caCert} (pin ${caPin(ca.certPem)})`,
          `  e.g. mosquitto_pub --cafile ${paths.caCert} -h <host> -p 8883 -t sensors/s1/temp -m '{"value":21}'`,
          '',
        ].join('\n'),
      )
    })
}

/** Certificate 0644 (public), key 0600 (written with that mode, so it is never readable by others). */
function writePair(certPath: string, keyPath: string, pair: CertifiedKey): void {
  writeFileSync(keyPath, pair.keyPem, { mode: 0o600 })
  chmodSync(keyPath, 0o600)
  writeFileSync(certPath, pair.certPem, { mode: 0o644 })
}
