import type { KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError, isCloudosError, type ErrorCode } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { verifyBundle, type DeviceTarget } from '../../shared/ota/bundle.js'
import { otaReportExchange, otaTargetExchange, type OtaDeviceState, type OtaReport, type OtaTarget } from '../../shared/protocol/ota.js'
import type { OtaConfig } from '../../shared/config/edge-config-schema.js'
import type { DeviceCredentials, HubClient } from '../hub-link/hub-client.js'
import { runtimeVersion } from '../hub-link/runtime-version.js'
import { containedPath } from '../../shared/fs/contained-path.js'
import { downloadBundle } from './bundle-download.js'
import { checkHubRelease } from './hub-release-check.js'
import { ensureDiskSpace } from './disk-space.js'
import { installFirmware, installModel, installRuntime } from './install-kinds.js'
import { readInstalled, writeInstalled } from './installed-versions.js'
import { installKeyRotation, loadTrustedReleaseKeys, type TrustedReleaseKeys } from './trusted-release-keys.js'
import { otaPaths } from './ota-paths.js'
import { ReportOutbox } from './report-outbox.js'
import { readRolledBack } from './rolled-back.js'
import { readUpdaterState, writeUpdaterState, type UpdaterStage } from './updater-state.js'

type Release = NonNullable<OtaTarget['release']>

export interface OtaUpdaterOptions {
  dataDir: string
  /** Signed JSON client for the target and the reports. */
  client: HubClient
  hubUrl: string
  credentials: DeviceCredentials
  /** The pinned hub transport (HubClient.fetch) bundle downloads go through: never the global fetch, which trusts every public CA. */
  fetch: typeof fetch
  config: OtaConfig
  /** The config file's `ota.trustedKeys`; a rotated key set in the data dir replaces them (edge/ota/trusted-release-keys.ts). */
  trustedKeys: readonly KeyObject[]
  pollIntervalMs: number
  requestTimeoutMs: number
  device: DeviceTarget
  /** Runs under `cloudos supervise` (runtime bundles need it to switch slots). */
  supervised: boolean
  /** Asks the supervisor to switch slots: stop the edge and exit with SWITCH_EXIT_CODE. */
  requestSwitch: () => void
  /**
   * Puts an installed `model` bundle to work (the edge's model registry: load,
   * validate against its card, warm, switch). Throwing (MODEL_ERR_*) fails the
   * install and the running model stays. Absent: the model is only stored.
   */
  activateModel?: (modelDir: string) => Promise<void>
  /** Fault point for tests (edge/fault-points.ts `atOtaStage`); absent in the product. */
  atStage?: (stage: UpdaterStage, releaseId: string) => Promise<void>
  /** Counts a hub answer refused before use, by code (the edge's hub_refused.* counters). */
  onRefused?: (code: ErrorCode) => void
  log: Logger
}

/** Codes that mean "the hub's answer was not used": counted, logged with the code, polled again later. */
const HUB_REFUSALS: readonly ErrorCode[] = ['EDGE_ERR_HUB_ANSWER_INVALID', 'EDGE_ERR_HUB_ID_INVALID', 'EDGE_ERR_PATH_OUTSIDE_ROOT']

/**
 * Codes worth trying again on a later poll without a new release (transient).
 * They are reported in the current state with the code, not as `failed`: the
 * hub treats `failed` as final and counts it against the rollout's wave.
 * Too little disk space is final (as in Mender): the rollout's failure rate
 * tells the operator the bundle does not fit.
 */
const RETRYABLE: readonly ErrorCode[] = ['OTA_ERR_DOWNLOAD_FAILED']

/**
 * The edge side of OTA: polls the hub for its target (on the heartbeat
 * cadence), and for a new release downloads (resuming), verifies against
 * the trusted release keys while extracting into staging, installs by kind
 * (runtime: inactive slot + switch request; firmware: installer hook;
 * model: model store), and reports each step. Reports go through a durable
 * outbox; the supervisor adds the trial outcome to the same outbox.
 */
export class OtaUpdater {
  readonly #o: OtaUpdaterOptions
  readonly #outbox: ReportOutbox
  readonly #paths: ReturnType<typeof otaPaths>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false
  /** Last transient failure reported per release, so a retry does not report it again. */
  readonly #reportedTransient = new Map<string, string>()
  #saidNoOtaRoutes = false
  #saidNoTrustedKeys = false
  /** The release keys trusted now: the file's, or the set of the last accepted rotation. */
  #trust: TrustedReleaseKeys

  constructor(options: OtaUpdaterOptions) {
    this.#o = options
    this.#paths = otaPaths(options.dataDir)
    this.#outbox = new ReportOutbox(options.dataDir)
    this.#recover()
    try {
      this.#trust = loadTrustedReleaseKeys(options.dataDir, options.trustedKeys, options.log)
    } catch (err) {
      // Fail closed but keep the edge running: no bundle verifies until an operator fixes the file.
      options.log.error(`${(err as Error).message}; every OTA bundle is refused meanwhile`)
      this.#trust = { keys: [], version: Number.MAX_SAFE_INTEGER, source: 'rotation', fileKeysDigest: '' }
    }
    if (this.#trust.source === 'rotation' && this.#trust.keys.length > 0) options.log.info(`trusting ${this.#trust.keys.length} release keys from rotation ${this.#trust.version} (ota.trustedKeys in the config file are superseded)`)
  }

  /** The release keys trusted now and where they come from. */
  get trust(): Readonly<TrustedReleaseKeys> {
    return this.#trust
  }

  start(): void {
    this.#schedule(0)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  /** After a crash or power cut: drop half-extracted staging dirs; a partial download is kept and resumed. */
  #recover(): void {
    mkdirSync(this.#paths.staging, { recursive: true })
    for (const name of readdirSync(this.#paths.staging)) {
      if (name.endsWith('.extract')) rmSync(join(this.#paths.staging, name), { recursive: true, force: true })
    }
    const state = readUpdaterState(this.#o.dataDir)
    if (state.current !== null) this.#o.log.warn(`an update to ${state.current.version} was interrupted while ${state.current.stage}: resuming`)
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.poll()
        .catch((err: Error & { status?: number }) => {
          if (err.status === 404) {
            // A hub without the OTA routes (older hub): say it once, keep polling quietly.
            if (!this.#saidNoOtaRoutes) this.#o.log.info(`the hub has no OTA routes (${err.message}); will keep asking`)
            this.#saidNoOtaRoutes = true
            return
          }
          if (isCloudosError(err) && HUB_REFUSALS.includes(err.code)) {
            this.#o.onRefused?.(err.code)
            this.#o.log.error(`OTA target refused: ${err.code}: ${err.message}`, { code: err.code })
            return
          }
          this.#o.log.warn(`OTA poll failed: ${err.message}`)
        })
        .finally(() => {
          this.#running = undefined
          this.#schedule(this.#o.pollIntervalMs)
        })
    }, delayMs)
    this.#timer.unref()
  }

  /** One round: send pending reports, ask for the target, act on it. */
  async poll(): Promise<void> {
    await this.flushReports()
    const { release } = await this.#o.client.exchange(otaTargetExchange, undefined)
    if (release === null || this.#stopped) return
    checkHubRelease(release)
    if (!this.#shouldInstall(release)) return
    if (this.#trust.keys.length === 0 && !this.#saidNoTrustedKeys) {
      this.#saidNoTrustedKeys = true
      this.#o.log.warn('ota.trustedKeys is empty: every OTA bundle is refused (OTA_ERR_UNTRUSTED_KEY); add the release public key to the edge config')
    }
    await this.#update(release)
    await this.flushReports()
  }

  /** Sends queued reports oldest first; stops at the first failure (kept for next time). */
  async flushReports(): Promise<void> {
    for (const { name, report } of this.#outbox.pending()) {
      try {
        await this.#o.client.exchange(otaReportExchange, report)
      } catch (err) {
        const refused = (err as { kind?: string }).kind === 'refused'
        if (!refused) return
        this.#o.log.warn(`the hub refused an OTA report (dropped): ${(err as Error).message}`)
      }
      this.#outbox.remove(name)
    }
  }

  #shouldInstall(release: Release): boolean {
    const { dataDir } = this.#o
    if (readUpdaterState(dataDir).finished[release.releaseId] !== undefined) return false
    if (readRolledBack(dataDir)[release.releaseId] !== undefined) return false
    if (release.kind === 'runtime') return release.version !== runtimeVersion()
    const installed = readInstalled(dataDir)[release.kind][release.name]
    return installed?.releaseId !== release.releaseId
  }

  #report(release: Release, state: OtaDeviceState, failure?: CloudosError): void {
    const report: OtaReport = {
      rolloutId: release.rolloutId,
      releaseId: release.releaseId,
      state,
      runningVersion: runtimeVersion(),
      at: Date.now(),
      ...(failure === undefined ? {} : { code: failure.code, reason: failure.message }),
    }
    this.#outbox.add(report)
  }

  async #enter(release: Release, stage: UpdaterStage): Promise<void> {
    const state = readUpdaterState(this.#o.dataDir)
    writeUpdaterState(this.#o.dataDir, { ...state, current: { releaseId: release.releaseId, rolloutId: release.rolloutId, version: release.version, stage, at: Date.now() } })
    if (stage !== 'switching') this.#report(release, stage as OtaDeviceState)
    this.#o.log.info(`OTA ${release.name} ${release.version}: ${stage}`)
    // A fault point (edge/fault-points.ts): a test holds here to cut the power at this stage.
    await this.#o.atStage?.(stage, release.releaseId)
  }

  #finish(release: Release, state: OtaDeviceState, code?: string): void {
    const current = readUpdaterState(this.#o.dataDir)
    writeUpdaterState(this.#o.dataDir, {
      current: null,
      finished: { ...current.finished, [release.releaseId]: { state, ...(code === undefined ? {} : { code }), at: Date.now() } },
    })
  }

  async #update(release: Release): Promise<void> {
    const { dataDir, config, log } = this.#o
    // The release id names files in staging: contained (EDGE_ERR_PATH_OUTSIDE_ROOT) before anything is written or removed.
    const partPath = containedPath(this.#paths.staging, `${release.releaseId}.cosb`)
    const extractDir = containedPath(this.#paths.staging, `${release.releaseId}.extract`)
    try {
      if (release.kind === 'runtime' && !this.#o.supervised) {
        throw new CloudosError('OTA_ERR_INSTALL_FAILED', 'runtime bundles need the supervisor to switch slots: run the edge with `cloudos supervise` (docs/operations.md)')
      }
      await this.#enter(release, 'downloading')
      const have = existsSync(partPath) ? statSync(partPath).size : 0
      if (release.bundleBytes > config.maxBundleBytes) {
        throw new CloudosError('OTA_ERR_BUNDLE_TOO_LARGE', `the bundle is ${release.bundleBytes} bytes, more than ota.maxBundleBytes (${config.maxBundleBytes})`)
      }
      // Space for the bundle and its extracted payload, checked before the first byte is fetched.
      ensureDiskSpace(this.#paths.staging, release.bundleBytes, { budgetBytes: config.stagingBudgetBytes, minFreeBytes: 0 }, `bundle ${release.name} ${release.version}`)
      ensureDiskSpace(this.#paths.staging, Math.max(0, release.bundleBytes - have), { budgetBytes: Number.MAX_SAFE_INTEGER, minFreeBytes: config.minFreeDiskBytes }, `bundle ${release.name} ${release.version}`)
      await downloadBundle({
        fetch: this.#o.fetch,
        hubUrl: this.#o.hubUrl,
        credentials: this.#o.credentials,
        downloadPath: release.downloadPath,
        partPath,
        totalBytes: release.bundleBytes,
        timeoutMs: Math.max(this.#o.requestTimeoutMs, 60_000),
      })

      await this.#enter(release, 'verifying')
      const { readBundleManifest } = await import('../../shared/ota/bundle.js')
      const { manifest: declared } = await readBundleManifest(partPath)
      ensureDiskSpace(this.#paths.staging, declared.payloadBytes, { budgetBytes: Number.MAX_SAFE_INTEGER, minFreeBytes: config.minFreeDiskBytes }, `the payload of ${release.name}`)
      rmSync(extractDir, { recursive: true, force: true })
      const installedVersion = release.kind === 'runtime' ? runtimeVersion() : readInstalled(dataDir)[release.kind][release.name]?.version
      const verified = await verifyBundle(partPath, {
        trustedKeys: this.#trust.keys,
        device: this.#o.device,
        ...(installedVersion === undefined ? {} : { installedVersion }),
        allowDowngrade: release.allowDowngrade,
        maxBytes: config.maxBundleBytes,
        expectedBundleBytes: release.bundleBytes,
        expectedBundleSha256: release.bundleSha256,
        extractTo: extractDir,
      })
      const manifest = verified.manifest
      if (manifest.kind !== release.kind || manifest.version !== release.version || manifest.name !== release.name) {
        throw new CloudosError('OTA_ERR_MANIFEST_INVALID', `the hub announced ${release.kind} ${release.name} ${release.version}, the bundle is ${manifest.kind} ${manifest.name} ${manifest.version}`)
      }

      await this.#enter(release, 'installing')
      const input = { dataDir, manifest, extractedDir: extractDir, releaseId: release.releaseId, rolloutId: release.rolloutId }
      if (manifest.kind === 'runtime') {
        const slot = installRuntime(input)
        rmSync(partPath, { force: true })
        await this.#enter(release, 'switching')
        this.#finish(release, 'installing')
        log.info(`runtime ${manifest.version} installed in slot ${slot.slot}: asking the supervisor to switch`)
        this.#o.requestSwitch()
        return
      }
      if (manifest.kind === 'model') {
        const modelDir = installModel(input)
        await this.#o.activateModel?.(modelDir)
      } else if (manifest.kind === 'release-keys') {
        this.#trust = installKeyRotation(dataDir, extractDir, this.#trust)
        rmSync(extractDir, { recursive: true, force: true })
        const installed = readInstalled(dataDir)
        installed['release-keys'][manifest.name] = { version: manifest.version, releaseId: release.releaseId, at: Date.now() }
        writeInstalled(dataDir, installed)
        log.warn(`release keys rotated to version ${this.#trust.version}: ${this.#trust.keys.length} keys trusted from now on, the previous ones no longer`)
      } else await installFirmware(input, config.installerHook, config.installerHookTimeoutSeconds)
      rmSync(partPath, { force: true })
      this.#finish(release, 'committed')
      this.#report(release, 'committed')
      log.info(`${manifest.kind} ${manifest.name} ${manifest.version} installed`)
    } catch (err) {
      rmSync(extractDir, { recursive: true, force: true })
      const failure = isCloudosError(err) ? err : new CloudosError('OTA_ERR_INSTALL_FAILED', (err as Error).message)
      log.error(`OTA ${release.name} ${release.version} failed: ${failure.code}: ${failure.message}`)
      if (RETRYABLE.includes(failure.code)) {
        // Transient: the next poll tries again (the download resumes); report a code once.
        const state = readUpdaterState(dataDir)
        const stage = state.current?.stage
        const at: OtaDeviceState = stage === 'verifying' || stage === 'installing' ? stage : 'downloading'
        if (this.#reportedTransient.get(release.releaseId) !== failure.code) this.#report(release, at, failure)
        this.#reportedTransient.set(release.releaseId, failure.code)
        writeUpdaterState(dataDir, { ...state, current: null })
        return
      }
      // A refusal: this release is never tried again, and its download goes.
      rmSync(partPath, { force: true })
      this.#finish(release, 'failed', failure.code)
      this.#report(release, 'failed', failure)
    }
  }
}
