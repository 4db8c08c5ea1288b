import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError } from '../../shared/errors.js'
import { containedPath } from '../../shared/fs/contained-path.js'

/**
 * The card of a `model` OTA bundle: its payload holds one model card
 * (`*.card.json`, docs/formats/model-card.md) beside the .onnx file it names.
 * The card comes from the bundle (remote data): the file it names must stay
 * inside the bundle's model directory (EDGE_ERR_PATH_OUTSIDE_ROOT), so a card
 * cannot make the edge load a model from elsewhere on the device.
 */
export function modelCardIn(modelDir: string): string {
  const cards = readdirSync(modelDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.card.json'))
  if (cards.length !== 1) {
    throw new CloudosError(
      'OTA_ERR_INSTALL_FAILED',
      cards.length === 0 ? `the model bundle holds no model card (*.card.json)` : `the model bundle holds ${cards.length} model cards; one is expected`,
    )
  }
  const cardPath = join(modelDir, cards[0] as string)
  let file: unknown
  try {
    file = (JSON.parse(readFileSync(cardPath, 'utf8')) as { file?: unknown }).file
  } catch (err) {
    throw new CloudosError('OTA_ERR_INSTALL_FAILED', `the model card in the bundle is not JSON: ${(err as Error).message}`)
  }
  if (typeof file !== 'string') throw new CloudosError('OTA_ERR_INSTALL_FAILED', 'the model card in the bundle names no model file ("file")')
  containedPath(modelDir, ...(cards[0] as string).split('/').slice(0, -1), ...file.split('/'))
  return cardPath
}
