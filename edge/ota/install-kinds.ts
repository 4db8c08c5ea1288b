import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { CloudosError } from '../../shared/errors.js'
import { containedPath } from '../../shared/fs/contained-path.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'
import { SLOT_MARKER, otaPaths } from './ota-paths.js'
import { readInstalled, writeInstalled } from './installed-versions.js'
import { inactiveSlot, readSlotState, writeSwitchRequest, type InstalledSlot } from './slot-state.js'

export interface InstallInput {
  dataDir: string
  manifest: BundleManifest
  /** The verified payload, extracted in the staging area. */
  extractedDir: string
  releaseId: string
  rolloutId: string
}

/**
 * Runtime: moves the verified build into the inactive slot (complete, with
 * its marker written last) and leaves a switch request for the supervisor.
 * The active slot is never touched.
 */
export function installRuntime(input: InstallInput): InstalledSlot {
  const { dataDir, manifest } = input
  for (const required of ['package.json', join('bin', 'cloudos.js')]) {
    if (!existsSync(join(input.extractedDir, required))) {
      throw new CloudosError('OTA_ERR_INSTALL_FAILED', `runtime bundle ${manifest.name} ${manifest.version} has no ${required}: not a CloudOS Lite build`)
    }
  }
  const state = readSlotState(dataDir)
  if (state.trial !== null) throw new CloudosError('OTA_ERR_INSTALL_FAILED', `the update to ${state.trial.version} is still on trial; try again after it is committed or rolled back`)
  const slot = inactiveSlot(state)
  const paths = otaPaths(dataDir)
  const slotDir = paths.slot(slot)
  mkdirSync(paths.slotsDir, { recursive: true })
  rmSync(slotDir, { recursive: true, force: true })
  const installed: InstalledSlot = {
    slot,
    version: manifest.version,
    releaseId: input.releaseId,
    rolloutId: input.rolloutId,
    bundleId: manifest.bundleId,
    installedAt: Date.now(),
  }
  // The marker goes in last: a slot without it (power cut mid-install) is never booted.
  writeFileAtomic(join(input.extractedDir, SLOT_MARKER), JSON.stringify(installed), 0o644)
  renameSync(input.extractedDir, slotDir)
  writeSwitchRequest(dataDir, installed)
  return installed
}

/**
 * Model: the verified files go to <dataDir>/models/<releaseId>/, recorded in
 * installed.json under the bundle's name. The signed manifest's name and
 * version are never path segments (issue 13): the directory is named by the
 * hub's release id, checked by pattern and contained under models/.
 */
export function installModel(input: InstallInput): string {
  const { dataDir, manifest } = input
  const target = containedPath(otaPaths(dataDir).models, input.releaseId)
  mkdirSync(otaPaths(dataDir).models, { recursive: true })
  rmSync(target, { recursive: true, force: true })
  renameSync(input.extractedDir, target)
  const installed = readInstalled(dataDir)
  installed.model[manifest.name] = { version: manifest.version, releaseId: input.releaseId, at: Date.now(), dir: target }
  writeInstalled(dataDir, installed)
  return target
}

/**
 * Firmware: runs the configured installer hook on the verified payload; exit 0 means installed.
 * The hook is an argv command (`[program, ...args]`, or a string naming the
 * program alone) run without a shell: nothing in it is expanded, split or
 * interpreted, so no value can smuggle a second command in. What the payload
 * is comes in the environment (CLOUDOS_OTA_*), never in the command line.
 */
export async function installFirmware(input: InstallInput, hook: string | readonly string[] | undefined, timeoutSeconds: number): Promise<void> {
  const { manifest } = input
  if (hook === undefined) {
    throw new CloudosError('OTA_ERR_INSTALL_FAILED', `firmware bundle ${manifest.name} ${manifest.version}: no installer hook configured (ota.installerHook)`)
  }
  const [program, ...args] = typeof hook === 'string' ? [hook] : hook
  if (program === undefined) throw new CloudosError('OTA_ERR_INSTALL_FAILED', 'ota.installerHook is an empty command')
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve, reject) => {
    const child = spawn(program, args, {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLOUDOS_OTA_PAYLOAD_DIR: input.extractedDir, CLOUDOS_OTA_NAME: manifest.name, CLOUDOS_OTA_VERSION: manifest.version, CLOUDOS_OTA_BUNDLE_ID: manifest.bundleId },
    })
    let output = ''
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-2000))
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output })
    })
  }).catch((err: Error) => {
    throw new CloudosError('OTA_ERR_INSTALL_FAILED', `the installer hook could not start: ${err.message}`)
  })
  if (result.code !== 0) {
    throw new CloudosError('OTA_ERR_INSTALL_FAILED', `the installer hook exited with ${result.signal ?? `code ${String(result.code)}`}: ${result.output.trim().slice(-300)}`)
  }
  const installed = readInstalled(input.dataDir)
  installed.firmware[manifest.name] = { version: manifest.version, releaseId: input.releaseId, at: Date.now() }
  writeInstalled(input.dataDir, installed)
  rmSync(input.extractedDir, { recursive: true, force: true })
}
