import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError } from '../../shared/errors.js'

/**
 * The card of a `model` OTA bundle: its payload holds one model card
 * (`*.card.json`, docs/formats/model-card.md) beside the .onnx file it names.
 */
export function modelCardIn(modelDir: string): string {
  const cards = readdirSync(modelDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.card.json'))
  if (cards.length !== 1) {
    throw new CloudosError(
      'OTA_ERR_INSTALL_FAILED',
      cards.length === 0 ? `the model bundle holds no model card (*.card.json)` : `the model bundle holds ${cards.length} model cards; one is expected`,
    )
  }
  return join(modelDir, cards[0] as string)
}
