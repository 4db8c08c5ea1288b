import { resolve } from 'node:path'
import type { Command } from 'commander'
import { CloudosError } from '../../shared/errors.js'

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)

interface BuildFlags {
  dir: string
  out: string
  name: string
  bundleVersion: string
  kind: string
  arch?: string[]
  tier?: string[]
  hardware?: string[]
  minFrom?: string
  expiresIn?: string
  expiresAt?: string
  key?: string
}

interface VerifyFlags {
  trusted: string[]
  arch?: string
  tier?: string
  hardware?: string
  installed?: string
  allowDowngrade?: boolean
  json?: boolean
}

/** `cloudos firmware keygen | build | rotate-keys | sign | verify | inspect` (docs/formats/ota.md). */
export function registerFirmwareCommand(program: Command): void {
  const firmware = program.command('firmware').description('build, sign, verify and inspect OTA bundles (docs/formats/ota.md)')

  firmware
    .command('keygen')
    .description('create an Ed25519 release key pair: DIR/release-key.pem (private, 0600) and DIR/release-key.pub.pem')
    .requiredOption('--out <dir>', 'directory for the key files')
    .option('--name <name>', 'file name stem', 'release-key')
    .action(async (flags: { out: string; name: string }) => {
      const { writeReleaseKeyPair } = await import('../../firmware/release-key-files.js')
      const written = writeReleaseKeyPair(resolve(flags.out), flags.name)
      process.stdout.write(`${JSON.stringify(written)}\n`)
    })

  firmware
    .command('build')
    .description('build a bundle from a payload directory (signed when --key is given)')
    .requiredOption('--dir <dir>', 'payload directory (its files become the bundle payload)')
    .requiredOption('--out <file>', 'bundle file to write (e.g. release.cosb)')
    .requiredOption('--name <name>', 'bundle name')
    .requiredOption('--bundle-version <semver>', 'release version (semver; not --version, which the root command owns)')
    .requiredOption('--kind <kind>', 'runtime | firmware | model (release-keys bundles: `firmware rotate-keys`)')
    .option('--arch <list>', 'target arch patterns, comma separated (e.g. x64,arm64)', list)
    .option('--tier <list>', 'target tier patterns', list)
    .option('--hardware <list>', 'target hardware patterns (globs)', list)
    .option('--min-from <semver>', 'lowest installed version this bundle may update')
    .option('--expires-in <duration>', 'expiry from now: 30m, 12h, 90d (default 90d)')
    .option('--expires-at <iso>', 'expiry as an ISO 8601 date')
    .option('--key <file>', 'release private key (PEM) to sign with')
    .action(async (flags: BuildFlags) => {
      const [{ buildBundle }, { BUNDLE_KINDS }, { expiryFromFlags }, keys] = await Promise.all([
        import('../../shared/ota/bundle.js'),
        import('../../shared/protocol/ota.js'),
        import('../../firmware/expiry.js'),
        import('../../firmware/release-key-files.js'),
      ])
      if (!(BUNDLE_KINDS as readonly string[]).includes(flags.kind)) {
        throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `--kind must be one of ${BUNDLE_KINDS.join(', ')} (got ${JSON.stringify(flags.kind)})`)
      }
      const { existsSync } = await import('node:fs')
      if (existsSync(flags.out)) throw new CloudosError('FIRMWARE_ERR_OUTPUT_EXISTS', `${flags.out} already exists`)
      const target = {
        ...(flags.arch ? { arch: flags.arch } : {}),
        ...(flags.tier ? { tier: flags.tier } : {}),
        ...(flags.hardware ? { hardware: flags.hardware } : {}),
      }
      const { manifest, signature } = await buildBundle({
        sourceDir: resolve(flags.dir),
        outputPath: resolve(flags.out),
        name: flags.name,
        version: flags.bundleVersion,
        kind: flags.kind as (typeof BUNDLE_KINDS)[number],
        target,
        ...(flags.minFrom === undefined ? {} : { minFromVersion: flags.minFrom }),
        expiresAt: expiryFromFlags(flags),
        ...(flags.key === undefined ? {} : { privateKey: keys.loadReleasePrivateKey(flags.key) }),
      })
      process.stdout.write(
        `${JSON.stringify({ bundle: resolve(flags.out), bundleId: manifest.bundleId, name: manifest.name, version: manifest.version, kind: manifest.kind, files: manifest.files.length, payloadBytes: manifest.payloadBytes, signedBy: signature?.keyId ?? null })}\n`,
      )
    })

  firmware
    .command('rotate-keys')
    .description('build a release key rotation bundle (kind release-keys): the new key set, signed by a key the devices trust now and by the new keys (docs/formats/ota.md)')
    .requiredOption('--key <file>', 'a release private key (PEM) the devices trust now: signs the statement and the bundle')
    .requiredOption('--new-key <files>', 'private keys (PEM) of the new set, comma separated: each signs the statement; their public halves become the trusted set', list)
    .requiredOption('--rotation-version <n>', 'rotation version, above every earlier one (1 for the first rotation)')
    .requiredOption('--out <file>', 'bundle file to write')
    .option('--expires-in <duration>', 'bundle expiry from now: 30m, 12h, 90d (default 90d)')
    .option('--expires-at <iso>', 'bundle expiry as an ISO 8601 date')
    .action(async (flags: { key: string; newKey: string[]; rotationVersion: string; out: string; expiresIn?: string; expiresAt?: string }) => {
      const version = Number(flags.rotationVersion)
      if (!Number.isSafeInteger(version) || version < 1) throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `--rotation-version must be an integer >= 1 (got ${JSON.stringify(flags.rotationVersion)})`)
      const [{ buildKeyRotationBundle }, { expiryFromFlags }, keys, { existsSync }] = await Promise.all([
        import('../../firmware/key-rotation-bundle.js'),
        import('../../firmware/expiry.js'),
        import('../../firmware/release-key-files.js'),
        import('node:fs'),
      ])
      if (existsSync(flags.out)) throw new CloudosError('FIRMWARE_ERR_OUTPUT_EXISTS', `${flags.out} already exists`)
      const { manifest, rotation } = await buildKeyRotationBundle({
        currentKey: keys.loadReleasePrivateKey(flags.key),
        newKeys: flags.newKey.map((f) => keys.loadReleasePrivateKey(f)),
        version,
        outputPath: resolve(flags.out),
        expiresAt: expiryFromFlags(flags),
      })
      process.stdout.write(
        `${JSON.stringify({ bundle: resolve(flags.out), bundleId: manifest.bundleId, kind: manifest.kind, rotationVersion: version, signedBy: rotation.signatures.map((s) => s.keyId) })}\n`,
      )
    })

  firmware
    .command('sign')
    .description('sign (or re-sign) a bundle with a release key')
    .argument('<bundle>', 'bundle file')
    .requiredOption('--key <file>', 'release private key (PEM)')
    .option('--out <file>', 'write the signed bundle here (default: replace the input)')
    .action(async (bundle: string, flags: { key: string; out?: string }) => {
      const [{ signBundle }, keys] = await Promise.all([import('../../shared/ota/bundle.js'), import('../../firmware/release-key-files.js')])
      const signature = await signBundle(resolve(bundle), resolve(flags.out ?? bundle), keys.loadReleasePrivateKey(flags.key))
      process.stdout.write(`${JSON.stringify({ bundle: resolve(flags.out ?? bundle), bundleId: signature.bundleId, signedBy: signature.keyId })}\n`)
    })

  firmware
    .command('verify')
    .description('verify a bundle as the edge would: signature, hashes, sizes, expiry, and target/version when given')
    .argument('<bundle>', 'bundle file')
    .requiredOption('--trusted <files>', 'trusted release public keys (PEM files), comma separated', list)
    .option('--arch <arch>', 'check the target against this arch')
    .option('--tier <tier>', 'check the target against this tier')
    .option('--hardware <hw>', 'check the target against this hardware')
    .option('--installed <semver>', 'refuse a lower version than this (rollback protection)')
    .option('--allow-downgrade', 'accept a lower version than --installed')
    .option('--json', 'print the result as JSON')
    .action(async (bundle: string, flags: VerifyFlags) => {
      const [{ verifyBundle }, keys] = await Promise.all([import('../../shared/ota/bundle.js'), import('../../firmware/release-key-files.js')])
      const device =
        flags.arch ?? flags.tier ?? flags.hardware
          ? { ...(flags.arch ? { arch: flags.arch } : {}), ...(flags.tier ? { tier: flags.tier } : {}), ...(flags.hardware ? { hardware: flags.hardware } : {}) }
          : undefined
      const verified = await verifyBundle(resolve(bundle), {
        trustedKeys: flags.trusted.map((f) => keys.loadReleasePublicKey(f)),
        ...(device === undefined ? {} : { device }),
        ...(flags.installed === undefined ? {} : { installedVersion: flags.installed }),
        allowDowngrade: flags.allowDowngrade === true,
      })
      const { manifest } = verified
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ ok: true, keyId: verified.keyId, bundleBytes: verified.bundleBytes, bundleSha256: verified.bundleSha256, manifest })}\n`)
      else process.stdout.write(`OK: ${manifest.name} ${manifest.version} (${manifest.kind}), ${manifest.files.length} files, signed by ${verified.keyId}, expires ${manifest.expiresAt}\n`)
    })

  firmware
    .command('inspect')
    .description('show a bundle\'s manifest and signer without verifying it')
    .argument('<bundle>', 'bundle file')
    .option('--json', 'print the manifest and signature as JSON')
    .action(async (bundle: string, flags: { json?: boolean }) => {
      const { readBundleManifest } = await import('../../shared/ota/bundle.js')
      const { manifest, signature } = await readBundleManifest(resolve(bundle))
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ manifest, signature })}\n`)
        return
      }
      const target = Object.entries(manifest.target).map(([k, v]) => `${k}=${(v as string[]).join('|')}`).join(' ') || 'any'
      process.stdout.write(
        [
          `${manifest.name} ${manifest.version} (${manifest.kind}), bundle ${manifest.bundleId}`,
          `target: ${target}${manifest.minFromVersion ? `, updates from ${manifest.minFromVersion}` : ''}`,
          `created ${manifest.createdAt}, expires ${manifest.expiresAt}`,
          `signed: ${signature === null ? 'NO (unsigned)' : `by release key ${signature.keyId}`}`,
          `${manifest.files.length} files, ${manifest.payloadBytes} bytes:`,
          ...manifest.files.map((f) => `  ${f.sha256.slice(0, 12)}  ${String(f.size).padStart(10)}  ${f.path}`),
        ].join('\n') + '\n',
      )
    })
}
